/* vmprep's Cockpit page. Runs vmcheck (the host report, the IOMMU groups, the libvirt
 * domains) through cockpit.spawn and renders what it prints. Read-only. No code from
 * elsewhere: cockpit.js comes from the Cockpit this page is installed into. */
"use strict";

const SEVERITIES = ["fail", "warn", "note", "pass", "skip"];

function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
        if (key === "class") node.className = value;
        else if (key.startsWith("data-")) node.setAttribute(key, value);
        else node[key] = value;
    }
    for (const child of children) {
        if (child === null || child === undefined) continue;
        node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
}

/* vmcheck exits 1 on warnings and 2 on failures: its JSON is on stdout all the same. */
function vmcheck(args) {
    return new Promise((resolve, reject) => {
        cockpit.spawn(["vmcheck"].concat(args), { superuser: "try", err: "message" })
                .then(data => resolve(JSON.parse(data)))
                .catch((ex, data) => {
                    if (ex && (ex.exit_status === 1 || ex.exit_status === 2) && data)
                        resolve(JSON.parse(data));
                    else
                        reject(new Error("vmcheck " + args.join(" ") + ": " +
                                         (ex && ex.message ? ex.message : String(ex))));
                });
    });
}

function severityBadge(severity) {
    return el("span", { class: "sev sev-" + severity }, severity.toUpperCase());
}

function findingRow(f) {
    const details = el("td", {}, el("div", { class: "summary" }, f.summary));
    if (f.hint) details.append(el("p", { class: "hint" }, f.hint));
    if (f.fixer)
        details.append(el("p", { class: "vmsetup" }, "vmsetup plan " + f.vmsetup_args.join(" ")));
    for (const e of f.evidence)
        details.append(el("p", { class: "evidence" }, e.path + ": " + e.value));
    if (f.accepted)
        details.append(el("p", { class: "evidence" }, "accepted: " + f.accepted.reason));
    return el("tr", { class: "finding", "data-id": f.id, "data-severity": f.severity },
              el("td", {}, severityBadge(f.severity)),
              el("td", { class: "id" }, f.id),
              details);
}

function renderReport(report) {
    const h = report.host;
    document.getElementById("host").textContent =
        (h.hostname || "this host") + " — kernel " + h.kernel + (h.os ? ", " + h.os : "");
    const c = report.summary.counts;
    document.getElementById("counts").textContent =
        "(" + SEVERITIES.map(s => c[s] + " " + s).join(", ") + ")";
    const tbody = document.querySelector("#findings tbody");
    tbody.replaceChildren(...report.findings.map(findingRow));
}

function renderVms(report) {
    const box = document.getElementById("vms");
    document.getElementById("vms-empty").hidden = report.vms.length > 0;
    box.replaceChildren(...report.vms.map(vm => {
        const rows = report.findings.filter(f => vm.findings.includes(f.id)).map(findingRow);
        return el("div", { class: "vm", "data-vm": vm.key, "data-worst": vm.worst },
                  el("h3", {}, severityBadge(vm.worst), " " + vm.name + " ",
                     el("span", { class: "id" }, vm.path)),
                  el("table", {}, el("tbody", {}, ...rows)));
    }));
}

function renderGroups(doc) {
    const box = document.getElementById("groups");
    const groups = doc.groups.map(g =>
        el("div", { class: "group", "data-group": String(g.group) },
           el("strong", {}, "Group " + g.group),
           el("ul", {}, ...g.devices.map(d =>
               el("li", { "data-address": d.address },
                  d.address + " " + d.class_name + ": " + d.name +
                  " [driver: " + (d.driver || "none") + "]" +
                  (d.bridge ? " [bridge]" : "") + (d.boot_vga ? " [boot VGA]" : ""))))));
    if (groups.length === 0)
        groups.push(el("p", {}, "No IOMMU groups: the IOMMU is off (see the iommu findings)."));
    box.replaceChildren(...groups);
}

async function main() {
    const status = document.getElementById("status");
    try {
        const [report, groups, vms] = await Promise.all([
            vmcheck(["--json"]), vmcheck(["groups", "--json"]), vmcheck(["vm", "--json"])]);
        renderReport(report);
        renderGroups(groups);
        renderVms(vms);
        status.textContent = "Worst finding: " + report.summary.worst +
            " (vmcheck exit status " + report.summary.exit_code + ").";
        status.setAttribute("data-state", "done");
    } catch (e) {
        status.textContent = String(e.message || e);
        status.className = "error";
        status.setAttribute("data-state", "error");
    }
}

document.addEventListener("DOMContentLoaded", main);
