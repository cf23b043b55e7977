#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) The anchorage contributors
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Ansible module wrapping the anchorage CLI (install / remove / sync of CA trust anchors)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: anchorage
short_description: Install CA certificates as trust anchors with the anchorage CLI
description:
  - Calls the C(anchorage) binary with C(--format json) and returns its report.
  - C(state=present) runs C(anchorage install), C(state=absent) runs C(anchorage remove) and
    C(state=exact) runs C(anchorage sync) (the managed set becomes exactly O(sources)).
  - In check mode the binary is called with C(--check) and changes nothing.
  - The binary decides idempotency (certificates are compared by SHA-256 of the DER), so
    C(changed) is exactly what anchorage reports.
version_added: "0.1.0"
options:
  sources:
    description:
      - Files or directories (walked recursively) on the managed host, in any encoding (PEM,
        DER, PKCS#7, PKCS#12).
      - With C(state=absent), selectors instead; a sha256 fingerprint, a managed name or a
        source file.
    type: list
    elements: str
    required: true
  state:
    description: C(present) adds, C(absent) removes, C(exact) adds and removes (sync).
    type: str
    choices: [present, absent, exact]
    default: present
  root:
    description: Operate on the tree at this directory (C(--root)).
    type: path
  platform:
    description: Trust-store layout (C(--platform)); C(auto) reads /etc/os-release inside O(root).
    type: str
    choices: [auto, debian, rhel, suse, alpine, arch]
  nssdb:
    description: Also manage these NSS databases (C(--nssdb), inside O(root)).
    type: list
    elements: str
    default: []
  nss_owner:
    description: Give the O(nssdb) databases to C(USER[:GROUP]) (C(--nss-owner)).
    type: str
  nss_discover:
    description: Also manage the existing NSS databases of the tree's users (C(--nss-discover)).
    type: bool
    default: false
  debian_conf:
    description: Debian; store under /usr/share/ca-certificates/anchorage/ and register in
      /etc/ca-certificates.conf (C(--debian-conf)).
    type: bool
    default: false
  name:
    description: File base name for a single certificate (C(--name)).
    type: str
  password_file:
    description: File on the managed host holding the PKCS#12 password (C(--password-file)).
    type: path
  password:
    description:
      - The PKCS#12 password, passed in the environment (C(ANCHORAGE_PASSWORD)), never on the
        command line.
    type: str
  allow_intermediate:
    description: Allow a CA certificate that is not self-signed (C(--allow-intermediate)).
    type: bool
    default: false
  allow_leaf:
    description: Allow an end-entity certificate (C(--allow-leaf)).
    type: bool
    default: false
  allow_expired:
    description: Allow expired certificates (C(--allow-expired)).
    type: bool
    default: false
  no_update:
    description: Do not run the platform's update command (C(--no-update)).
    type: bool
    default: false
  hook_timeout:
    description: Seconds before the update hook is killed (C(--hook-timeout)).
    type: int
  binary:
    description: The anchorage executable; a name is looked up in PATH.
    type: path
    default: anchorage
notes:
  - Exit codes of the binary; 0 ok, 1 failure, 2 usage, 65 bad input, 66 missing source,
    69 missing program, 74 I/O error, 77 permission denied. They are returned as RV(rc).
author:
  - The anchorage contributors
"""

EXAMPLES = r"""
- name: The company CAs are exactly the trust anchors anchorage manages
  anchorage:
    sources:
      - /etc/anchorage/cas
    state: exact

- name: Add one CA, also to the agent's NSS database
  anchorage:
    sources: [/tmp/myNewCa.crt]
    nssdb: [/home/agent/.pki/nssdb]
    nss_owner: agent

- name: Remove by fingerprint
  anchorage:
    sources: ["f09ee15fb25ba57132688c04118f4e29e5bba101f4f89573b0d1404b563e268e"]
    state: absent
"""

RETURN = r"""
changed:
  description: Whether anchorage changed (or in check mode would change) anything.
  returned: always
  type: bool
check:
  description: Whether the binary ran with C(--check).
  returned: success
  type: bool
platform:
  description: The detected or given platform.
  returned: success
  type: str
root:
  description: The tree operated on.
  returned: success
  type: str
certificates:
  description: One entry per certificate (sha256, subject, issuer, not_after, name, action,
    stores, warnings, source); action is added, unchanged, removed, skipped, would_add or
    would_remove.
  returned: success, and on failure when the binary reported them
  type: list
  elements: dict
hook:
  description: The platform's update command and whether it ran.
  returned: success
  type: dict
error:
  description: On failure, C(kind) (usage, bad_input, no_input, missing_program, io,
    unsafe_path, permission_denied, failed) and C(path).
  returned: failure
  type: dict
rc:
  description: The binary's exit code.
  returned: always
  type: int
cmd:
  description: The command line that ran (never contains the password).
  returned: always
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

SUBCOMMAND = {"present": "install", "absent": "remove", "exact": "sync"}


def build_command(module, binary):
    p = module.params
    cmd = [binary, "--format", "json"]
    if p["root"]:
        cmd += ["--root", p["root"]]
    if p["platform"]:
        cmd += ["--platform", p["platform"]]
    for db in p["nssdb"] or []:
        cmd += ["--nssdb", db]
    if p["nss_owner"]:
        cmd += ["--nss-owner", p["nss_owner"]]
    if p["nss_discover"]:
        cmd.append("--nss-discover")
    cmd.append(SUBCOMMAND[p["state"]])
    if module.check_mode:
        cmd.append("--check")
    for flag in ("no_update", "debian_conf", "allow_intermediate", "allow_leaf", "allow_expired"):
        if p[flag]:
            cmd.append("--" + flag.replace("_", "-"))
    if p["name"]:
        cmd += ["--name", p["name"]]
    if p["password_file"]:
        cmd += ["--password-file", p["password_file"]]
    if p["hook_timeout"] is not None:
        cmd += ["--hook-timeout", str(p["hook_timeout"])]
    # `--` so that a source starting with '-' is never taken for an option ('-' alone is stdin,
    # which a module cannot provide, and is refused below).
    cmd.append("--")
    cmd += p["sources"]
    return cmd


def summary(report):
    counts = {}
    for cert in report.get("certificates") or []:
        action = cert.get("action", "?")
        counts[action] = counts.get(action, 0) + 1
    if not counts:
        return "nothing to do"
    return ", ".join("%d %s" % (n, a) for a, n in sorted(counts.items()))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sources=dict(type="list", elements="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent", "exact"]),
            root=dict(type="path"),
            platform=dict(type="str", choices=["auto", "debian", "rhel", "suse", "alpine", "arch"]),
            nssdb=dict(type="list", elements="str", default=[]),
            nss_owner=dict(type="str"),
            nss_discover=dict(type="bool", default=False),
            debian_conf=dict(type="bool", default=False),
            name=dict(type="str"),
            password_file=dict(type="path", no_log=False),
            password=dict(type="str", no_log=True),
            allow_intermediate=dict(type="bool", default=False),
            allow_leaf=dict(type="bool", default=False),
            allow_expired=dict(type="bool", default=False),
            no_update=dict(type="bool", default=False),
            hook_timeout=dict(type="int"),
            binary=dict(type="path", default="anchorage"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p["sources"]:
        module.fail_json(msg="sources must name at least one file, directory or selector", rc=2)
    if "-" in p["sources"]:
        module.fail_json(msg="sources: '-' (standard input) cannot be used from Ansible", rc=2)

    binary = p["binary"]
    if os.sep not in binary:
        binary = module.get_bin_path(binary, required=True)
    elif not os.access(binary, os.X_OK):
        module.fail_json(msg="%s: not an executable file (option binary)" % binary, rc=69)

    cmd = build_command(module, binary)
    # Only what the options say: no ANCHORAGE_* setting of the managed host leaks in, and the
    # password travels in the environment, not in argv.
    for var in [k for k in os.environ if k.startswith("ANCHORAGE_")]:
        del os.environ[var]
    env = {}
    if p["password"] is not None:
        env["ANCHORAGE_PASSWORD"] = p["password"]

    rc, out, err = module.run_command(cmd, environ_update=env, check_rc=False)
    try:
        result = json.loads(out) if out.strip() else None
    except ValueError:
        result = None

    if not isinstance(result, dict):
        module.fail_json(
            msg="anchorage exited %d without a JSON report: %s" % (rc, (err or out).strip() or "no output"),
            rc=rc,
            cmd=cmd,
            stdout=out,
            stderr=err,
        )

    result["rc"] = rc
    result["cmd"] = cmd
    if err.strip():
        result["stderr"] = err
    if rc != 0 or result.get("failed"):
        # The binary's failure object is already in Ansible's shape:
        # {"changed": ..., "failed": true, "msg": "...", "error": {"kind": ..., "path": ...}}
        result.pop("failed", None)
        if "msg" not in result:
            result["msg"] = "anchorage exited %d" % rc
        module.fail_json(**result)

    result.setdefault("msg", summary(result))
    # The report's "warnings" (strings) are shown by Ansible as task warnings.
    module.exit_json(**result)


if __name__ == "__main__":
    main()
