"""JUnit XML from run summaries: one test case per (scenario, seed), as CI systems read it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from stress.summary import StressSummary, Summary


def _case(s: Summary) -> ET.Element:
    case = ET.Element("testcase", classname=f"pagerace.{s.scenario}",
                      name=f"{s.scenario}[seed={s.seed}]",
                      time=f"{float(s.duration_s or 0):.3f}")
    seen = ", ".join(f"{k} {n}" for k, n in s.anomalies.items()) or "nothing"
    message = f"expected {s.expected}, saw {seen}"
    details = "\n".join([*s.errors, f"pagerace report {s.run_dir}"])
    if s.interrupted:
        ET.SubElement(case, "skipped", message="interrupted")
    elif s.verdict == "fail":
        ET.SubElement(case, "failure", message=message, type="verdict").text = details
    elif s.verdict == "inconclusive":
        ET.SubElement(case, "failure", message="clean, but no race window was ever contested",
                      type="inconclusive").text = details
    elif s.verdict == "error":
        ET.SubElement(case, "error", message=(s.errors or [message])[0],
                      type="harness").text = details
    props = ET.SubElement(case, "properties")
    scheme = s.scheme if isinstance(s, StressSummary) else ""
    for name, value in (("verdict", s.verdict), ("claim", s.claim), ("scheme", scheme),
                        ("run_dir", s.run_dir)):
        ET.SubElement(props, "property", name=name, value=str(value or ""))
    return case


def write_junit(path: Path, summaries: Sequence[Summary]) -> None:
    """Write the summaries as one JUnit test suite named `pagerace`."""
    suite = ET.Element("testsuite", name="pagerace", tests=str(len(summaries)),
                       failures=str(sum(s.verdict in ("fail", "inconclusive")
                                        for s in summaries)),
                       errors=str(sum(s.verdict == "error" and not s.interrupted
                                      for s in summaries)),
                       skipped=str(sum(bool(s.interrupted) for s in summaries)),
                       time=f"{sum(float(s.duration_s or 0) for s in summaries):.3f}")
    suite.extend(_case(s) for s in summaries)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")
