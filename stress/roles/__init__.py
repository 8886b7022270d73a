"""Roles: what a worker does with the model.  One small module per kind of page user."""

from stress.roles.base import Actor, build_schedule
from stress.roles.nic import Nic
from stress.roles.owners import Pgtable, Swapcache
from stress.roles.pagecache import Reader, Truncater
from stress.roles.spec import ActorSpec
from stress.roles.speculative import Gup, Stray
from stress.roles.zerocopy import Zerocopy

ROLES: dict[str, type[Actor]] = {
    cls.name: cls for cls in (Nic, Zerocopy, Reader, Truncater, Gup, Stray, Swapcache, Pgtable)
}

__all__ = ["ROLES", "Actor", "ActorSpec", "build_schedule"]
