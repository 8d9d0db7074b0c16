"""`shelf scan FILE` (the server's scanner, run locally before uploading) and `shelf image scan ID`."""

import json
import time
from pathlib import Path

import typer
from rich.table import Table

from shelf.cli.output import api_session, err, out
from shelf.scanning import states
from shelf.scanning.engine.severity import CRITICAL, HIGH, INFO, LOW, MEDIUM, SEVERITY_RANK

SEVERITY_STYLE = {CRITICAL: "bold red", HIGH: "red", MEDIUM: "yellow", LOW: "cyan", INFO: "dim"}


def print_report(report: dict) -> None:
    os_info = report.get("os") or {}
    verdict = report["verdict"]
    style = {states.PASSED: "bold green", states.FAILED: "bold red"}.get(verdict, "bold yellow")
    out.print(
        f"Verdict: [{style}]{verdict.upper()}[/]   OS: {os_info.get('pretty_name') or 'unknown'}"
        f"{' [red](end of life)[/]' if os_info.get('eol') else ''}   packages: {report.get('packages')}"
    )
    for reason in report.get("incomplete") or []:
        out.print(f"[yellow]incomplete:[/] {reason}")
    findings = sorted(report.get("findings") or [], key=lambda f: (SEVERITY_RANK[f["severity"]], not f["blocking"]))
    if not findings:
        out.print("No findings.")
        return
    table = Table("severity", "blocks", "check", "finding", "evidence", "how to fix", show_lines=True, expand=True)
    for f in findings:
        evidence = "\n".join(
            f"{e['path']}{':' + str(e['line']) if e.get('line') else ''}" for e in (f.get("evidence") or [])[:5]
        )
        blocks = "yes" if f["blocking"] else ("excepted" if f.get("excepted") else "no")
        table.add_row(
            f"[{SEVERITY_STYLE[f['severity']]}]{f['severity']}[/]",
            blocks,
            f["check_id"],
            f["title"],
            evidence,
            f["fix"],
        )
    out.print(table)


def scan(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The disk image to check."),
    disk_format: str = typer.Option(
        None, "--format", "-f", help="qcow2, raw, vmdk, vhd or vhdx (detected if omitted)."
    ),
    osv_path: Path = typer.Option(
        None,
        "--osv",
        exists=True,
        help="OSV records (a directory, a JSON file or an OSV zip) to match packages against.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
    sbom: Path = typer.Option(None, "--sbom", help="Write the CycloneDX SBOM to this file."),
    no_vulnerabilities: bool = typer.Option(
        False, "--no-vulnerabilities", help="Judge without vulnerability data (the server would call that incomplete)."
    ),
):
    """Scan an image locally with the server's scanner and policy: exit 0 when it would pass, 1 when not."""
    from shelf.images import inspection
    from shelf.scanning import engine, osv
    from shelf.scanning import policy as verdicts

    if sbom is not None and not sbom.parent.is_dir():
        raise typer.BadParameter(f"the directory {sbom.parent} does not exist", param_hint="'--sbom'")
    disk_format = disk_format or inspection.sniff_format(file) or "raw"
    try:
        inspection.inspect_image(file, disk_format)
    except inspection.ImageRejected as exc:
        err.print(f"[bold red]The server would refuse this image:[/] {exc.message}")
        raise typer.Exit(1) from None
    except inspection.InspectionUnavailable:
        err.print("[yellow]qemu-img is not installed: the image's container was not validated first.[/]")
    with out.status("Scanning…") as status:
        result = engine.scan_image(file, disk_format, progress=lambda step: status.update(f"Scanning: {step}"))
    data = result.to_dict()
    findings, incomplete = data["findings"], list(data["incomplete"])
    ecosystems = {osv.normalize_ecosystem(p.ecosystem) for p in result.packages if p.ecosystem}
    if osv_path is not None:
        packages = [
            osv.InstalledPackage(
                ecosystem=p.ecosystem,
                name=p.name,
                version=p.version,
                source_name=p.source_name,
                source_version=p.source_version,
            )
            for p in result.packages
        ]
        records = list(osv.iter_records(osv_path))
        matches = osv.OsvIndex.from_records(records).match(packages)
        findings += verdicts.vulnerability_findings(matches, result.os.family if result.os else "")
        covered = {key[0] for record in records for key in osv.affected_index_keys(record)}
        ecosystems = {e for e in ecosystems if e not in covered and e.split(":", 1)[0] not in covered}
    if ecosystems and not no_vulnerabilities:
        # Like the server: packages that could not be checked for vulnerabilities keep the image from passing.
        incomplete += [
            f"No vulnerability data for {e}: its packages could not be checked (pass --osv with OSV records)."
            for e in sorted(ecosystems)
        ]
    verdict, findings = verdicts.evaluate(findings, incomplete, verdicts.Policy())
    report = {
        **data,
        "verdict": verdict,
        "findings": findings,
        "incomplete": incomplete,
        "packages": len(data["packages"]),
        "vulnerabilities_checked": osv_path is not None,
    }
    if sbom is not None:
        try:
            sbom.write_text(json.dumps(result.sbom(), indent=2))
        except OSError as exc:
            err.print(f"[bold red]Cannot write the SBOM to {sbom}:[/] {exc.strerror}")
            raise typer.Exit(2) from None
    if as_json:
        out.print_json(json.dumps(report, default=str))
    else:
        print_report(report)
    raise typer.Exit(0 if verdict == states.PASSED else 1)


def image_scan(image_id: str, wait: bool = typer.Option(True, help="Follow the scan until it finishes.")):
    """Scan an image on the server now and follow it."""
    with api_session() as api:
        scan_ = api.post(f"/images/{image_id}/scans")
        out.print(f"Scan {scan_['id']} {scan_['status']}.")
        if not wait:
            return
        with out.status("Scanning on the server…") as status:
            while scan_["status"] in (states.QUEUED, states.RUNNING):
                time.sleep(1)
                scan_ = api.get(f"/images/{image_id}/scans/latest")
                status.update(f"Scan {scan_['status']}…")
        report = api.get(f"/scans/{scan_['id']}")
    if report["status"] == states.ERROR:
        err.print(f"[red]The scan could not complete:[/] {report['error']}")
        raise typer.Exit(1)
    print_report(report)
    raise typer.Exit(0 if report["verdict"] == states.PASSED else 1)
