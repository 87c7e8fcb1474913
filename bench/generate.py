"""A deterministic generator of realistic Commanders Act 1.0 payload archives (NDJSON).

Web events (search, page_view, add_to_cart, purchase with items) and mobile
events (Android/iOS SDK shapes with device lifecycle, app and network blocks),
with the variations real 1.0 traffic has: prices written ``16.00``, integers
beyond 64 bits, unicode, ``consent_categories`` as ints or strings,
``event_timestamp`` as a number, a numeric string or ISO-8601, ``page.location``
or ``page.url``, ``user`` as the string ``"{waiting_for_consent}"``, and an
occasional record of about 30 KB (a long cart); about 20% of the records escape
non-ASCII text (``\u00e9``), as ``json.dumps`` does by default.

With ``--mixed``, the irregular records real archives hold, at these rates by default (each
can be set on its own, e.g. ``--v2 0.1``):

- ``--no-properties 0.01``: 1.0 records without a ``properties`` object (the spec's
  "neither present": senders that put everything at the root);
- ``--v2 0.03``: records already in 2.0 (re-exported data), written the way the exporter does;
- ``--either 0.005``: records holding only ``event_name`` (they read the same in both versions);
- ``--invalid 0.001``: invalid lines (a record cut off where a writer crashed);
- ``--large 0.005``: records over 10 KB (long carts, 10 to 40 KB);
- ``--crlf``: CRLF line ends for the whole file (``bench/run.py`` gives one file of its tree CRLF).

With ``--spaced FRACTION`` (with or without ``--mixed``; default 0), that fraction of the records is
written with ``json.dumps``' default separators (``{"event_name": "x", "properties": {"a": 1}}``),
as archives written by Python scripts are; the records are the same ones, only their whitespace
differs (the choice is drawn from a generator of its own).

    python bench/generate.py --records 1000 --seed 7 > archive.ndjson
    python bench/generate.py --bytes 1G > big.ndjson
    python bench/generate.py --bytes 256M --mixed > mixed.ndjson
    python bench/generate.py --bytes 64M --spaced 1 > spaced.ndjson
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterator
from typing import Any

# A number that must be written with its exact text: placeholders replaced after dumping.
_MARK = "\u00a7num:"
_RAW_NUMBER = re.compile(r'"(?:\u00a7|\\u00a7)num:([-0-9.eE+]+)"')

WORDS = ["t-shirts", "chaussures", "été", "Straße", "café crème", "日本語", "smartphone", "jeans",
         "робот", "🎧 headphones", "naïve", "O'Brien", "\"quoted\"", "back\\slash", "tab\tbed"]
PAGES = ["/", "/search", "/product/123", "/cart", "/checkout", "/account", "/blog/été-2023"]
ANDROID_MODELS = [("samsung", "SM-G991B"), ("Google", "Pixel 7"), ("Xiaomi", "2201117TG")]
IOS_MODELS = [("Apple", "iPhone14,2"), ("Apple", "iPad13,4")]


def _price(rng: random.Random) -> str:
    return f"{_MARK}{rng.randint(1, 900)}.{rng.choice(['00', '99', '50', '90', '05'])}"


def _timestamp(rng: random.Random, ms: int) -> Any:
    kind = rng.random()
    if kind < 0.7:
        return ms
    if kind < 0.9:
        return str(ms)
    seconds, millis = divmod(ms, 1000)
    import datetime as dt

    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def _user(rng: random.Random) -> Any:
    if rng.random() < 0.05:
        return "{waiting_for_consent}"
    categories: list[Any] = sorted(rng.sample([1, 2, 3, 4, 5], rng.randint(1, 4)))
    if rng.random() < 0.5:
        categories = [str(c) for c in categories]
    user = {"id": str(rng.randint(10000, 99999999)), "consent_categories": categories}
    if rng.random() < 0.3:
        user["email"] = f"user{rng.randint(1, 10**6)}@example.com"
    return user


def _items(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"SKU-{rng.randint(1000, 99999)}",
            "quantity": rng.randint(1, 5),
            "price": _price(rng),
            "product": {"name": f"{rng.choice(WORDS)} {rng.randint(1, 99)}", "category_1": rng.choice(WORDS),
                        "brand": rng.choice(["Acme", "Zoë & Co", "Nord"])},
        }
        for _ in range(count)
    ]


def web_event(rng: random.Random, ms: int) -> dict[str, Any]:
    name = rng.choice(["page_view", "search", "add_to_cart", "purchase"])
    properties: dict[str, Any] = {"user": _user(rng)}
    if name == "search":
        properties["search_term"] = rng.choice(WORDS)
    elif name == "add_to_cart":
        properties["items"] = _items(rng, rng.randint(1, 3))
        properties["value"] = _price(rng)
        properties["currency"] = "EUR"
    elif name == "purchase":
        long_cart = rng.random() < 0.01
        properties["id"] = f"ORD-{rng.randint(10**5, 10**6)}"
        properties["items"] = _items(rng, rng.randint(210, 230) if long_cart else rng.randint(1, 6))
        properties["revenue"] = _price(rng)
        properties["value"] = _price(rng)
        properties["shipping_amount"] = _price(rng)
        properties["currency"] = "EUR"
        properties["basket_id"] = rng.randint(2**64, 2**70)  # beyond 64 bits
    path = rng.choice(PAGES)
    page: dict[str, Any] = {"title": rng.choice(WORDS).title(), "lang": rng.choice(["fr", "en", "de"]),
                            "referrer": "https://www.google.fr/"}
    page["location" if rng.random() < 0.5 else "url"] = f"https://shop.example.com{path}"
    event: dict[str, Any] = {
        "event_name": name,
        "event_id": str(rng.randint(10**17, 10**18)),
        "properties": properties,
        "page": page,
        "device": {
            "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
                          "(KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
            "ip": f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "lang": "fr",
            "cookie": f"_fbp=fb.1.{rng.randint(10**12, 10**13)}; _ga=GA1.2.{rng.randint(10**8, 10**9)}",
            "timezone": "Europe/Paris",
        },
        "event_timestamp": _timestamp(rng, ms),
    }
    if rng.random() < 0.5:
        event["generatorVersion"] = "10.0"
        event["containerVersion"] = f"3.{rng.randint(0, 9)}"
    return event


def mobile_event(rng: random.Random, ms: int) -> dict[str, Any]:
    android = rng.random() < 0.6
    maker, model = rng.choice(ANDROID_MODELS if android else IOS_MODELS)
    name = rng.choice(["screen_view", "add_to_cart", "purchase", "login"])
    properties: dict[str, Any] = {"user": _user(rng)}
    if name in ("add_to_cart", "purchase"):
        properties["items"] = _items(rng, rng.randint(1, 4))
        properties["value"] = _price(rng)
        properties["currency"] = "EUR"
    if name == "screen_view":
        properties["screen_name"] = rng.choice(WORDS)
    lifecycle = {
        "firstInitDate": ms - 10**9, "lastInitDate": ms - 10**6, "firstVisitDate": ms - 10**9,
        "lastVisitDate": ms - 10**6, "lastSessionDate": ms - 10**5, "lastSessionStart": ms - 10**5,
        "currentSessionDate": ms, "currentSessionStart": ms - 3000, "sessionCount": rng.randint(1, 500),
        "visitNumber": rng.randint(1, 500), "daysSinceFirstVisit": rng.randint(0, 900),
        "daysSinceLastVisit": rng.randint(0, 30), "isFirstVisit": False, "isFirstVisitSinceUpdate": False,
        "isFirstSession": rng.random() < 0.1, "isFirstSessionSinceUpdate": False,
        "firstSessionDateAfterUpdate": ms - 10**7, "timeSinceLastVisit": rng.randint(0, 10**7),
    }
    return {
        "event_name": name,
        "event_id": f"{rng.getrandbits(128):032x}",
        "properties": properties,
        "device": {
            "sdk_id": f"{rng.getrandbits(64):016x}", "manufacturer": maker, "model": model,
            "name": f"{maker} device", "type": "phone",
            "network": {"carrier": "Orange F", "connection_type": rng.choice(["wifi", "4g", "5g"])},
            "os": {"name": "Android" if android else "iOS", "version": rng.choice(["13", "14", "16.4"])},
            "screen": {"width": 1080, "height": 2400, "density": _MARK + "2.75"},
            "lifecycle": lifecycle,
            "timezone": "Europe/Paris",
        },
        "app": {"name": "Shop", "version": "4.2.0", "build": str(rng.randint(100, 999)),
                "core_version": "5.3.1", "serverside_version": "5.3.1" if android else "5.2.1",
                "namespace": "com.example.shop"},
        "event_timestamp": _timestamp(rng, ms),
    }


#: The irregular records of ``--mixed``, as fractions of all records (see the module's docstring).
MIX = {"no_properties": 0.01, "v2": 0.03, "either": 0.005, "invalid": 0.001, "large": 0.005}
CLEAN = dict.fromkeys(MIX, 0.0)


def _to_v2(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a 2.0 exporter writes it: event data at the root, meta-data in ``context``."""
    rest = {key: value for key, value in event.items() if key not in ("event_name", "properties")}
    out: dict[str, Any] = {"event_name": event["event_name"]} if "event_name" in event else {}
    return {**out, **event.get("properties", {}), "context": rest}


def events(seed: int, mix: dict[str, float] = CLEAN, spaced: float = 0.0) -> Iterator[str]:
    """An endless, deterministic sequence of events as JSON lines: 1.0 ones, and with ``mix``
    (fractions, keys of :data:`MIX`) irregular ones among them; compact, but for a fraction ``spaced``
    of them written with ``json.dumps``' default separators (``", "`` and ``": "``)."""
    rng = random.Random(seed)
    spacing = random.Random(f"spaced-{seed}")  # its own: the events are the same whatever ``spaced`` is
    ms = 1_672_531_200_000  # 2023-01-01
    bounds, total = [], 0.0
    for kind, share in mix.items():
        total += share
        bounds.append((total, kind))
    while True:
        ms += rng.randint(1, 5000)
        event = web_event(rng, ms) if rng.random() < 0.6 else mobile_event(rng, ms)
        draw = rng.random() if total else 1.0
        kind = next((name for bound, name in bounds if draw < bound), "")
        if kind == "no_properties":
            event.pop("properties")
        elif kind == "v2":
            event = _to_v2(event)
        elif kind == "either":
            event = {"event_name": event["event_name"]}
        elif kind == "large":
            event["properties"]["items"] = _items(rng, rng.randint(40, 160))
        separators = (", ", ": ") if spaced and spacing.random() < spaced else (",", ":")
        text = json.dumps(event, ensure_ascii=rng.random() < 0.2, separators=separators)
        # Numbers whose text matters (16.00, 2.75) were written as marked strings.
        text = _RAW_NUMBER.sub(r"\1", text)
        if kind == "invalid":
            text = text[: rng.randint(1, len(text) - 1)]
        yield text


def _size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text[-1:].upper() in units:
        return int(float(text[:-1]) * units[text[-1:].upper()])
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, help="how many events")
    parser.add_argument("--bytes", type=_size, help="stop after about this many bytes (e.g. 1G)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mixed", action="store_true", help="irregular records among the 1.0 ones (see above)")
    for kind, share in MIX.items():
        parser.add_argument(f"--{kind.replace('_', '-')}", type=float, metavar="FRACTION",
                            help=f"with --mixed: the fraction of these records (default {share})")
    parser.add_argument("--crlf", action="store_true", help="CRLF line ends")
    parser.add_argument("--spaced", type=float, default=0.0, metavar="FRACTION",
                        help="the fraction of records written with json.dumps' default separators "
                             "(', ' and ': '), with or without --mixed (default 0)")
    args = parser.parse_args(argv)
    if args.records is None and args.bytes is None:
        parser.error("give --records or --bytes")
    mix = {kind: share if getattr(args, kind) is None else getattr(args, kind) for kind, share in MIX.items()}
    out = sys.stdout.buffer
    end = b"\r\n" if args.crlf else b"\n"
    written = 0
    for count, line in enumerate(events(args.seed, mix if args.mixed else CLEAN, args.spaced)):
        if args.records is not None and count >= args.records:
            break
        if args.bytes is not None and written >= args.bytes:
            break
        data = line.encode("utf-8") + end
        out.write(data)
        written += len(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
