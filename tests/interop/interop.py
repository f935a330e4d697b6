#!/usr/bin/env python3
"""Interoperability check between sdrate and Python's asn1tools.

asn1tools compiles asn1/sdr.asn independently of the Rust types in src/sdr/,
so exchanging records between the two proves that both read and write the
module the same way:

  a. compile asn1/sdr.asn with asn1tools (BER);
  b. sdrate generates records; asn1tools decodes every one of them, and the
     values agree with what `sdrate inspect` prints;
  c. asn1tools re-encodes them; `sdrate inspect` prints the same values for
     both files, line for line;
  d. a hand-written record set (every ServiceSpecificPart alternative, pricing
     modules) written by asn1tools reads back with the expected values;
  e. forward compatibility: records of a "v2" module with a new header item,
     a new SdrType value and a new CHOICE alternative are read, shown as
     unknown items, and re-encoded by sdrate byte for byte;
  f. indefinite lengths: `sdrate encode --indefinite` output decodes with
     asn1tools and inspects to the same values as the definite form;
  g. every output record of a rate run at the clock's time of pricing
     decodes with asn1tools;
  h. sdrate's responsibility tag (`--system-identity`): every priced SDR
     decodes with asn1tools with the producers' entries, then sdrate's
     (identity, the time of its pricing modules), and otherwise the values
     of the same run without the tag.

Usage: python3 tests/interop/interop.py --sdrate target/release/sdrate
Exit status 0 when everything agrees, 1 on any disagreement (with a message
naming the step, record and field), 2 when the check cannot run.
"""

import argparse
import datetime as dt
import decimal
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import asn1tools
except ImportError:
    sys.exit("interop: asn1tools is not installed (pip install asn1tools)")

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "asn1" / "sdr.asn"
TOP = "ServiceDetailRecord"


class Disagreement(Exception):
    """sdrate and asn1tools do not agree; the message says where."""


def check(condition, message):
    if not condition:
        raise Disagreement(message)


# --------------------------------------------------------------------------
# BER framing: just enough to split a file into records.


def _header(data, pos):
    """Returns (constructed, content_length or None, content_start)."""
    check(pos < len(data), f"truncated element at offset {pos}")
    first = data[pos]
    pos += 1
    if first & 0x1F == 0x1F:  # high tag number: base-128 octets
        while True:
            check(pos < len(data), "truncated tag")
            pos += 1
            if not data[pos - 1] & 0x80:
                break
    check(pos < len(data), "truncated length")
    first_len = data[pos]
    pos += 1
    if first_len == 0x80:
        check(first & 0x20, f"indefinite length on a primitive at {pos - 2}")
        return True, None, pos
    if first_len & 0x80:
        n = first_len & 0x7F
        check(pos + n <= len(data), "truncated length octets")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    else:
        length = first_len
    return bool(first & 0x20), length, pos


def element_end(data, pos):
    """Offset just past the element (definite or indefinite) starting at pos."""
    _, length, pos = _header(data, pos)
    if length is not None:
        check(pos + length <= len(data), f"element at {pos} runs past the end")
        return pos + length
    while data[pos : pos + 2] != b"\x00\x00":  # until end-of-contents
        pos = element_end(data, pos)
    return pos + 2


def split_records(data):
    """[(offset, record bytes)] of a file of records back to back."""
    records, pos = [], 0
    while pos < len(data):
        end = element_end(data, pos)
        records.append((pos, data[pos:end]))
        pos = end
    return records


def tlv(identifier, content):
    """One definite-length TLV, to spell out expected bytes by hand."""
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes([identifier]) + length + content


# --------------------------------------------------------------------------
# Running sdrate.


class Sdrate:
    def __init__(self, binary):
        self.binary = str(binary)

    def _run(self, args, stdin=None):
        proc = subprocess.run(
            [self.binary, *args], input=stdin, capture_output=True, check=False
        )
        check(
            proc.returncode == 0 and not proc.stderr,
            f"`sdrate {' '.join(map(str, args))}` exited {proc.returncode}:\n"
            + proc.stderr.decode(errors="replace"),
        )
        return proc.stdout

    def rate(self, inputs, out, extra=()):
        """`sdrate rate` with the shipped price lists and the clock's time
        of pricing (no --pricing-time, unless `extra` gives one), as the
        nightly cron line runs it; faults are expected (exit 1)."""
        repo = Path(__file__).resolve().parents[2]
        proc = subprocess.run(
            [self.binary, "-q", "rate", *map(str, inputs), "--out", str(out), *extra],
            cwd=repo, capture_output=True, check=False,
        )
        check(
            proc.returncode in (0, 1),
            f"`sdrate rate` exited {proc.returncode}:\n" + proc.stderr.decode(errors="replace"),
        )

    def generate(self, count, seed, out):
        self._run(["generate", "--count", str(count), "--seed", str(seed), "-o", out])

    def inspect(self, path):
        """[(offset, sdr value)] as `sdrate inspect` prints them."""
        lines = self._run(["inspect", path]).decode().splitlines()
        return [(line["offset"], line["sdr"]) for line in map(json.loads, lines)]

    def encode(self, sdrs, out, indefinite=False):
        text = "".join(json.dumps({"sdr": s}) + "\n" for s in sdrs)
        self._run(
            ["encode", "-", "-o", out] + (["--indefinite"] if indefinite else []),
            stdin=text.encode(),
        )


# --------------------------------------------------------------------------
# Values: asn1tools' Python values against sdrate's JSON.

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def amount_text(units, places):
    """The decimal string sdrate prints for units * 10^-places."""
    return format(decimal.Decimal(units).scaleb(-places), "f")


def as_inspect_json(value):
    """asn1tools' value in the shape `sdrate inspect` prints (times stay
    datetimes; `differences` compares them by instant and offset)."""
    if isinstance(value, dict):
        if set(value) == {"units", "decimalPlaces"}:  # Amount
            return amount_text(value["units"], value["decimalPlaces"])
        return {k: as_inspect_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_inspect_json(v) for v in value]
    if isinstance(value, tuple):  # CHOICE: (alternative, value)
        name, inner = value
        return {name: as_inspect_json(inner)}
    return value


def differences(expected, actual, path="sdr"):
    """Human-readable differences between an expected and a printed value."""
    if isinstance(expected, dt.datetime):
        if not isinstance(actual, str) or not RFC3339.match(actual):
            return [f"{path}: expected a time like {expected.isoformat()}, got {actual!r}"]
        got = dt.datetime.fromisoformat(actual)
        if got != expected or got.utcoffset() != expected.utcoffset():
            return [f"{path}: expected {expected.isoformat()}, got {actual}"]
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        out = [f"{path}.{k}: missing" for k in expected if k not in actual]
        out += [f"{path}.{k}: unexpected {actual[k]!r}" for k in actual if k not in expected]
        for k in expected:
            if k in actual:
                out += differences(expected[k], actual[k], f"{path}.{k}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            out += differences(e, a, f"{path}[{i}]")
        return out
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def same_python_values(a, b):
    """Deep equality of asn1tools values; times must also keep their offset."""
    if isinstance(a, dt.datetime):
        return isinstance(b, dt.datetime) and a == b and a.utcoffset() == b.utcoffset()
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(same_python_values(a[k], b[k]) for k in a)
        )
    if isinstance(a, (list, tuple)):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(same_python_values(x, y) for x, y in zip(a, b))
        )
    return type(a) is type(b) and a == b


def require_same(expected, actual, what):
    diffs = differences(expected, actual)
    check(not diffs, f"{what}:\n  " + "\n  ".join(diffs[:20]))


def require_same_lines(first, second, what):
    """Two inspect outputs must print the same sdr values, line for line."""
    check(
        len(first) == len(second),
        f"{what}: {len(first)} records against {len(second)}",
    )
    for i, ((_, a), (_, b)) in enumerate(zip(first, second)):
        if a != b:
            require_same(a, b, f"{what}: record {i}")


def decode_all(spec, records, what):
    values = []
    for offset, rec in records:
        try:
            values.append(spec.decode(TOP, rec))
        except Exception as e:  # any asn1tools failure is a disagreement
            raise Disagreement(
                f"{what}: asn1tools cannot decode the record at offset {offset}: {e}\n"
                f"  bytes: {rec.hex()}"
            ) from e
    return values


def write_records(spec, values, path):
    path.write_bytes(b"".join(spec.encode(TOP, v) for v in values))


def step(title):
    print(f"-- {title}", flush=True)


# --------------------------------------------------------------------------
# a. compile


def choice_alternatives(type_name):
    """The alternatives of a CHOICE as asn1tools parses them from sdr.asn."""
    module = next(iter(asn1tools.parse_files(str(MODULE)).values()))
    members = module["types"][type_name]["members"]
    return {m["name"] for m in members if m is not None and m != "..."}


def compile_module(text=None):
    if text is None:
        return asn1tools.compile_files(str(MODULE), "ber")
    return asn1tools.compile_string(text, "ber")


# --------------------------------------------------------------------------
# b. sdrate writes, asn1tools reads


def check_generated(spec, sdrate, work, count, seed):
    path = work / "generated.sdr"
    sdrate.generate(count, seed, path)
    records = split_records(path.read_bytes())
    check(len(records) == count, f"generated file splits into {len(records)} records")
    values = decode_all(spec, records, "generated file")
    printed = sdrate.inspect(path)
    check(
        [o for o, _ in records] == [o for o, _ in printed],
        "sdrate inspect and the Python splitter disagree on record offsets",
    )
    for i, (value, (offset, sdr)) in enumerate(zip(values, printed)):
        what = f"generated record {i} (offset {offset}), asn1tools vs sdrate inspect"
        require_same(as_inspect_json(value), sdr, what)
    print(f"   {count} records written by sdrate, all decoded by asn1tools with the same values")
    return values, printed


# --------------------------------------------------------------------------
# g. a rate run's outputs, at the clock's time of pricing


def check_rated(spec, sdrate, work):
    """Every BER file a default rate run writes (priced SDRs, answers,
    participations, faults, session events) decodes record by record with
    asn1tools: times of pricing from the clock included."""
    out = work / "rated"
    sdrate.rate([work / "generated.sdr"], out)
    files = sorted(p for p in out.rglob("*.sdr") if p.stat().st_size > 0)
    check(files, "the rate run wrote no SDR file")
    total = 0
    for path in files:
        records = split_records(path.read_bytes())
        decode_all(spec, records, str(path.relative_to(out)))
        total += len(records)
    print(f"   {total} records in {len(files)} output files of a rate run decoded by asn1tools")


# --------------------------------------------------------------------------
# h. sdrate's responsibility tag


TAG_IDENTITY = "sdrate-interop"


def check_tagged(spec, sdrate, work):
    """A rate run with --system-identity against the same run without: each
    priced SDR, as asn1tools decodes it, differs only by sdrate's entry at
    the end of its responsibility trace, whose time is its pricing
    modules' time of pricing; the purge lists name every one."""
    fixed = ["--pricing-time", "2026-11-23T02:00:00+01:00"]
    plain_out, tagged_out = work / "untagged", work / "tagged"
    sdrate.rate([work / "generated.sdr"], plain_out, fixed)
    sdrate.rate([work / "generated.sdr"], tagged_out, fixed + ["--system-identity", TAG_IDENTITY])
    plain = decode_all(
        spec, split_records((plain_out / "priced" / "generated.sdr").read_bytes()), "untagged"
    )
    tagged = decode_all(
        spec, split_records((tagged_out / "priced" / "generated.sdr").read_bytes()), "tagged"
    )
    check(tagged and len(plain) == len(tagged), "the tagged run priced other SDRs")
    for i, (a, b) in enumerate(zip(plain, tagged)):
        trace = b["serviceHeader"]["responsibilityTrace"]
        check(trace[:-1] == a["serviceHeader"]["responsibilityTrace"],
              f"priced SDR {i}: the producers' entries changed: {trace}")
        entry = trace[-1]
        check(entry["systemIdentity"] == TAG_IDENTITY, f"priced SDR {i}: last entry {entry}")
        when = b["servicePricingModules"][0]["timeOfPricing"]
        check(entry["timestamp"] == when,
              f"priced SDR {i}: tag time {entry['timestamp']}, time of pricing {when}")
        check(sum(e["systemIdentity"] == TAG_IDENTITY for e in trace) == 1,
              f"priced SDR {i}: more than one sdrate tag")
        b["serviceHeader"]["responsibilityTrace"] = trace[:-1]
        check(same_python_values(a, b), f"priced SDR {i}: the tag changed other values")
    rows = sum(
        len(p.read_text().splitlines()) - 1 for p in (tagged_out / "secured").rglob("*.csv")
    )
    check(rows == len(tagged), f"purge lists name {rows} SDRs, {len(tagged)} were priced")
    print(f"   {len(tagged)} priced SDRs with sdrate's tag decoded by asn1tools, one tag each")


# --------------------------------------------------------------------------
# c. asn1tools writes, sdrate reads


def times_in(value):
    if isinstance(value, dt.datetime):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from times_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from times_in(v)


def check_reencoded(spec, sdrate, work, values, printed):
    path = work / "asn1tools.sdr"
    write_records(spec, values, path)
    again = sdrate.inspect(path)
    require_same_lines(printed, again, "sdrate inspect of sdrate's file vs asn1tools' re-encoding")
    # asn1tools writes "YYYYMMDDHHMM+hhmm" when the seconds are 00: make
    # sure this run really exercised that form.
    short = sum(1 for v in values for t in times_in(v) if t.second == 0 and not t.microsecond)
    check(short > 0, "no time with 00 seconds in the generated set; raise --count")
    print(
        f"   {len(values)} records re-encoded by asn1tools ({short} times without seconds) "
        "inspect to the same values"
    )


# --------------------------------------------------------------------------
# d. hand-written records written by asn1tools


def at(text):
    """A time from ISO 8601 text, e.g. at('2026-11-22T14:30:15+01:00')."""
    return dt.datetime.fromisoformat(text)


def amount(units, places):
    return {"units": units, "decimalPlaces": places}


def header(sdr_id, **extra):
    return {
        "moduleIdentifier": "serviceHeader",
        "revisionState": 1,
        "sdrType": "billing",
        "sdrIdentifier": sdr_id,
        "producerIdentity": "spe-interop",
        "timeOfOrigin": at("2026-11-22T14:30:15+01:00"),
        "responsibilityTrace": [
            {"systemIdentity": "mediation-1", "timestamp": at("2026-11-22T14:30:17+01:00")}
        ],
        "actionIndicator": "priceAndForward",
        **extra,
    }


def usage(part, code="TEST", **extra):
    return {
        "moduleIdentifier": "serviceUsage",
        "revisionState": 1,
        "serviceFeatureCode": code,
        "revisionStateOfService": 1,
        "providerIdentifier": "prov-test",
        "marketingCompany": "megacom",
        "dialledNumber": "0201234567",
        "serviceSpecific": part,
        **extra,
    }


def record(sdr_id, part, header_extra=None, **extra):
    return {
        "serviceHeader": header(sdr_id, **(header_extra or {})),
        "serviceUsageModules": [usage(part)],
        **extra,
    }


def hand_written_records():
    """One record per ServiceSpecificPart alternative, then a priced one."""
    vcc = ("virtualCallCentre", {
        "callingNumber": "+46701234567",
        "dialledNumber": "020123456",
        "serviceCarrier": "split3",
        "customerControlCode": "CCC-7",
        "events": [
            {"destinationNumber": "+4681111111", "eventCode": "queuedThenHungUp",
             "queueStart": at("2026-11-22T09:00:05+01:00"), "queueDuration": 40},
            {"destinationNumber": "+4682222222", "eventCode": "queuedThenConnected",
             "queueStart": at("2026-11-22T09:01:00+01:00"), "queueDuration": 12,
             "connectStart": at("2026-11-22T09:01:12+01:00"), "connectDuration": 600},
        ],
    })
    vpn = ("virtualPrivateNetwork", {
        "privateNumberA": "4233", "publicNumberA": "+4682420306",
        "privateNumberB": "1747", "publicNumberB": "+4683333333",
        "firstDestinationNumber": "1", "secondDestinationNumber": "2",
        "thirdDestinationNumber": "3", "costDistributionCode": "CDC8",
        "extraCdc1": "E1", "extraCdc2": "E2", "extraCdc3": "E3",
        "accountNumber": "ACC-1", "typeOfAccess": "networkRemote",
        "originatingLineIdentity": "OLID0", "terminatingLineIdentity": "TLID9",
        "dialledNumber": "48109434", "callType": "virtualOnNet",
        "followOnCounter": 3, "relatedIdentifier": 4294967295,
        "eventTrace": ["breakOut", "followMe", "differentiatedCallScreening"],
        "redirectionIndicator": "congestionOutsideVpn",
        "authorisationCode": "1234", "companyIdentifier": "CO71",
        "authorisationCodeVersion2": "A2", "inCallIndicator": True,
        "nonDialablePrivateCli": "NDP", "nonDialablePublicCli": "NDQ",
        "personalPhoneNumber": "+46709999999",
        "startOfCharging": at("2026-11-22T06:15:45-08:00"),
        "chargeableDuration": 2617,
    })
    atm = ("signalledAtm", {
        "originatingNumber": "+46872573071", "terminatingNumber": "+46313807641",
        "startOfCharging": at("2026-11-22T23:59:59+00:00"),
        "chargeableDuration": 1878, "peakAllocatedBandwidth": 4096,
        "averageAllocatedBandwidth": 3072, "classOfService": "abr",
        "transmittedCells": 1099511627776,
    })
    broadband = ("broadBand", {
        "atmServiceIdentifier": "web",
        # A fraction, with non-zero seconds: for hh:mm:00.f asn1tools writes
        # "hhmm.f", which BER reads as a fraction of the minute.
        "startOfCharging": at("2026-11-22T20:10:11.25+05:30"),
        "chargeableDuration": 0, "sessionIdentifier": "bb-00000001",
        "typeOfEvent": "homePageChange",
        "eventParameters": [{"name": "protocol", "value": "http"},
                            {"name": "page", "value": "Ångström ✓"}],
        "octetsTransferred": 50000000000,
    })
    function = ("functionUsage", {
        "function": "store", "quantity": 7, "unit": "message", "size": 1999999,
        # Seconds 00 with an offset: asn1tools writes "202611221430+0100".
        "startTime": at("2026-11-22T14:30:00+01:00"), "duration": 86400,
    })
    event = ("sessionEvent", {
        "sessionId": "conf-00000001", "service": "CONF",
        "category": "serviceProviderDefined", "eventType": "providerDefined",
        "providerEventName": "raiseHand",
        "timestamp": at("2026-11-22T10:00:01-03:30"),
        "participantId": "p2", "userName": "user-C00002", "billedParty": "C00002",
        "role": "participant",
        "parameters": [{"name": "hand", "value": "up"}],
    })
    summary = ("participationSummary", {
        "sessionId": "game-00000002", "service": "GAME", "participantId": "p1",
        "role": "player", "billedParty": "C00003",
        "firstJoin": at("2026-11-22T18:00:00Z"),
        "lastLeave": at("2026-11-22T19:29:59Z"),
        "activeSeconds": 5399, "eventsCounted": 4,
    })
    records = [
        record(1, vcc),
        record(2, vpn, networkServiceModules=[{
            "moduleIdentifier": "networkService", "revisionState": 1,
            "nsmSumCorrelator": 4294967295,
            "networkUsage": [{
                "networkProvider": "telco-se", "typeOfNetwork": "mobile",
                "startOfCharging": at("2026-11-22T06:15:45-08:00"),
                "chargeableDuration": 2617, "consumedCapacity": 12345678901,
                "sseIdentifier": "sse-1",
            }],
        }]),
        record(3, atm),
        record(4, broadband, {"sessionIdentifier": "bb-00000001", "sequenceNumber": 2}),
        record(5, function),
        record(6, event, {"sdrType": "accountingOtherOperator",
                          "actionIndicator": "serviceManagementNotPriced",
                          "customerIdentity": "C00002", "marketingCompany": "publicom"}),
        record(7, summary),
    ]
    priced = record(8, function)
    priced["serviceUsageModules"][0]["sumSpmCorrelator"] = 1
    priced["servicePricingModules"] = [{
        "moduleIdentifier": "servicePricing", "revisionState": 1,
        "sumSpmCorrelator": 1, "servicePricingIdentifier": "sps-1",
        "timeOfPricing": at("2026-11-23T02:00:07+01:00"),
        "currency": "SEK", "vatLevel": amount(25, 0),
        "prices": [
            {"priceType": "perFunction", "basicPrice": amount(1250, 2),
             "individualPrice": amount(1000, 2), "priceTableIdentifier": "MSGBOX-base",
             "priceTableRevision": 3, "billInformation": "7 messages",
             "statusIndicator": "priced"},
            {"priceType": "perCall", "basicPrice": amount(-375, 3),
             "priceTableIdentifier": "none", "priceTableRevision": 0,
             "statusIndicator": "unableToLocatePriceTable"},
            {"priceType": "combination", "basicPrice": amount(123456789012345, 4),
             "individualPrice": amount(0, 2), "priceTableIdentifier": "big",
             "priceTableRevision": 65535, "statusIndicator": "technicalError"},
        ],
    }]
    records.append(priced)
    return records


# (record index, path in the printed sdr, expected value), written by hand.
HAND_CHECKS = [
    (0, "serviceUsageModules.0.serviceSpecific.virtualCallCentre.serviceCarrier", "split3"),
    (0, "serviceUsageModules.0.serviceSpecific.virtualCallCentre.events.1.eventCode",
     "queuedThenConnected"),
    (0, "serviceHeader.timeOfOrigin", "2026-11-22T14:30:15+01:00"),
    (1, "serviceUsageModules.0.serviceSpecific.virtualPrivateNetwork.eventTrace",
     ["breakOut", "followMe", "differentiatedCallScreening"]),
    (1, "serviceUsageModules.0.serviceSpecific.virtualPrivateNetwork.startOfCharging",
     "2026-11-22T06:15:45-08:00"),
    (1, "serviceUsageModules.0.serviceSpecific.virtualPrivateNetwork.relatedIdentifier",
     4294967295),
    (1, "serviceUsageModules.0.serviceSpecific.virtualPrivateNetwork.inCallIndicator", True),
    (1, "networkServiceModules.0.networkUsage.0.consumedCapacity", 12345678901),
    (2, "serviceUsageModules.0.serviceSpecific.signalledAtm.classOfService", "abr"),
    (2, "serviceUsageModules.0.serviceSpecific.signalledAtm.startOfCharging",
     "2026-11-22T23:59:59Z"),
    (3, "serviceUsageModules.0.serviceSpecific.broadBand.eventParameters.1.value",
     "Ångström ✓"),
    (3, "serviceUsageModules.0.serviceSpecific.broadBand.startOfCharging",
     "2026-11-22T20:10:11.250+05:30"),
    (4, "serviceUsageModules.0.serviceSpecific.functionUsage.startTime",
     "2026-11-22T14:30:00+01:00"),
    (5, "serviceHeader.sdrType", "accountingOtherOperator"),
    (5, "serviceUsageModules.0.serviceSpecific.sessionEvent.eventType", "providerDefined"),
    (5, "serviceUsageModules.0.serviceSpecific.sessionEvent.timestamp",
     "2026-11-22T10:00:01-03:30"),
    (6, "serviceUsageModules.0.serviceSpecific.participationSummary.activeSeconds", 5399),
    (7, "servicePricingModules.0.vatLevel", "25"),
    (7, "servicePricingModules.0.prices.0.basicPrice", "12.50"),
    (7, "servicePricingModules.0.prices.0.individualPrice", "10.00"),
    (7, "servicePricingModules.0.prices.1.basicPrice", "-0.375"),
    (7, "servicePricingModules.0.prices.1.statusIndicator", "unableToLocatePriceTable"),
    (7, "servicePricingModules.0.prices.2.basicPrice", "12345678901.2345"),
    (7, "servicePricingModules.0.prices.2.individualPrice", "0.00"),
    (7, "servicePricingModules.0.timeOfPricing", "2026-11-23T02:00:07+01:00"),
]


def lookup(value, path):
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value.get(part)
        if value is None:
            return None
    return value


def check_hand_written(spec, sdrate, work):
    values = hand_written_records()
    alternatives = {v["serviceUsageModules"][0]["serviceSpecific"][0] for v in values}
    every = choice_alternatives("ServiceSpecificPart")
    check(alternatives == every, f"hand-written set misses alternatives {every - alternatives}")
    path = work / "hand.sdr"
    write_records(spec, values, path)
    printed = sdrate.inspect(path)
    check(len(printed) == len(values), f"inspect printed {len(printed)} of {len(values)} records")
    for i, (value, (_, sdr)) in enumerate(zip(values, printed)):
        require_same(as_inspect_json(value), sdr, f"hand-written record {i}")
    for i, where, want in HAND_CHECKS:
        got = lookup(printed[i][1], where)
        check(got == want and type(got) is type(want),
              f"hand-written record {i}: {where}: expected {want!r}, got {got!r}")
    print(
        f"   {len(values)} hand-written records ({len(every)} alternatives, pricing modules) "
        f"read back; {len(HAND_CHECKS)} fields checked by hand"
    )


# --------------------------------------------------------------------------
# e. forward compatibility: a newer module version


def replace_once(text, old, new):
    check(text.count(old) == 1, f"v2 module: cannot find a unique {old!r} in sdr.asn")
    return text.replace(old, new)


def v2_module_text():
    """asn1/sdr.asn with items added the way a later revision would."""
    text = MODULE.read_text()
    additions = [
        # (last item of the type in sdr.asn, item added after it)
        ("    marketingCompany     [11] UTF8String OPTIONAL,",
         "    newItem              [12] UTF8String OPTIONAL,"),
        ("    accountingOtherOperator  (5),",
         "    roamingPartner           (9),"),
        ("    participationSummary  [6] ParticipationSummary,",
         "    videoConference       [7] SEQUENCE { minutes [0] INTEGER, ... },"),
        # One level deeper: a new item inside a known alternative.
        ("    duration   [5] Seconds OPTIONAL,",
         "    channel    [6] UTF8String OPTIONAL,"),
    ]
    for last, new in additions:
        text = replace_once(text, f"{last}\n    ...\n}}", f"{last}\n{new}\n    ...\n}}")
    return text


def v2_records():
    """v2 records and the inspect output expected from a v1 reader.

    Times have non-zero seconds: asn1tools omits 00 seconds, sdrate writes
    them, and the re-encoding must be byte for byte the same."""
    video = record(
        101,
        ("videoConference", {"minutes": 42}),
        {"sdrType": "roamingPartner", "newItem": "added in v2"},
    )
    video_seen = as_inspect_json(record(101, ("videoConference", {"minutes": 42})))
    video_seen["serviceHeader"]["sdrType"] = 9
    video_seen["serviceHeader"]["unknownItems"] = [tlv(0x8C, "added in v2".encode()).hex()]
    video_seen["serviceUsageModules"][0]["serviceSpecific"] = {
        "unknown": tlv(0xA7, tlv(0x80, bytes([42]))).hex()
    }

    fax = {"function": "send", "quantity": 3, "unit": "page",
           "startTime": at("2026-11-22T08:07:06+02:00")}
    channel = record(102, ("functionUsage", {**fax, "channel": "fax-line-2"}))
    channel_seen = as_inspect_json(record(102, ("functionUsage", fax)))
    channel_seen["serviceUsageModules"][0]["serviceSpecific"]["functionUsage"][
        "unknownItems"
    ] = [tlv(0x86, b"fax-line-2").hex()]
    return [video, channel], [video_seen, channel_seen]


def check_forward_compatible(sdrate, work):
    v2 = compile_module(v2_module_text())
    values, expected = v2_records()
    path = work / "v2.sdr"
    write_records(v2, values, path)
    original = path.read_bytes()
    printed = sdrate.inspect(path)
    check(len(printed) == len(values), f"inspect printed {len(printed)} v2 records")
    for i, (want, (_, sdr)) in enumerate(zip(expected, printed)):
        require_same(want, sdr, f"v2 record {i} as read by sdrate")

    again = work / "v2-by-sdrate.sdr"
    sdrate.encode([sdr for _, sdr in printed], again)
    rewritten = again.read_bytes()
    if rewritten != original:
        first = next(
            i for i, (a, b) in enumerate(zip(original + b"\0", rewritten + b"\1")) if a != b
        )
        raise Disagreement(
            f"sdrate encode does not reproduce the v2 bytes (first difference at byte {first}):\n"
            f"  original:   {original.hex()}\n  re-encoded: {rewritten.hex()}"
        )
    back = decode_all(v2, split_records(rewritten), "sdrate's re-encoding of v2 records")
    for i, (a, b) in enumerate(zip(values, back)):
        check(same_python_values(a, b), f"v2 record {i}: asn1tools reads back {b}, wrote {a}")
    print(
        "   v2 records (new header item, SdrType value, CHOICE alternative, nested item) "
        "read as unknowns and re-encoded byte for byte"
    )


# --------------------------------------------------------------------------
# f. indefinite lengths


def check_indefinite(spec, sdrate, work, values, printed):
    path = work / "indefinite.sdr"
    sdrate.encode([sdr for _, sdr in printed], path, indefinite=True)
    records = split_records(path.read_bytes())
    check(len(records) == len(values), f"indefinite file splits into {len(records)} records")
    check(
        all(rec[1] == 0x80 for _, rec in records),
        "sdrate encode --indefinite wrote a record without the indefinite length form",
    )
    decoded = decode_all(spec, records, "indefinite-length file")
    for i, (a, b) in enumerate(zip(values, decoded)):
        check(same_python_values(a, b), f"indefinite record {i}: asn1tools reads {b}, not {a}")
    require_same_lines(printed, sdrate.inspect(path), "sdrate inspect, definite vs indefinite")
    print(f"   {len(records)} indefinite-length records decoded by asn1tools and sdrate alike")


# --------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdrate", required=True, type=Path, help="the sdrate binary")
    parser.add_argument("--count", type=int, default=3000, help="generated records")
    parser.add_argument("--seed", type=int, default=20261122, help="generator seed")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if not args.sdrate.is_file():
        print(f"interop: no sdrate binary at {args.sdrate}", file=sys.stderr)
        return 2
    sdrate = Sdrate(args.sdrate.resolve())

    work = Path(tempfile.mkdtemp(prefix="sdrate-interop-"))
    try:
        try:
            step("a. compile asn1/sdr.asn with asn1tools (BER)")
            spec = compile_module()
            step("b. sdrate writes, asn1tools reads")
            values, printed = check_generated(spec, sdrate, work, args.count, args.seed)
            step("c. asn1tools writes, sdrate reads")
            check_reencoded(spec, sdrate, work, values, printed)
            step("d. hand-written records: every service alternative, pricing modules")
            check_hand_written(spec, sdrate, work)
            step("e. forward compatibility: records of a later module version")
            check_forward_compatible(sdrate, work)
            step("f. indefinite lengths")
            check_indefinite(spec, sdrate, work, values, printed)
            step("g. a rate run without --pricing-time: every output record")
            check_rated(spec, sdrate, work)
            step("h. sdrate's responsibility tag (--system-identity)")
            check_tagged(spec, sdrate, work)
        except Disagreement as e:
            print(f"interop: DISAGREEMENT: {e}", file=sys.stderr)
            return 1
    finally:
        if args.keep:
            print(f"interop: files kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work)
    print("interop: sdrate and asn1tools agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
