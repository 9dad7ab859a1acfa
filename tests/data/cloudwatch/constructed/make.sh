#!/bin/sh
# Builds the constructed CloudWatch Logs test files in this folder from the
# real pieces one level up (see ../SOURCES.md). Nothing here is AWS output:
# each file is the shape AWS documents, filled with real flow-log messages
# and, where stated, real gzip members AWS produced. Reproducible: every
# gzip member is written with mtime 0 and no file name, so running this
# again gives the same bytes (check with `git status`).
#
# Needs only sh and python3 (standard library).
set -eu
cd "$(dirname "$0")"

python3 - <<'EOF'
import gzip, json

def gz(data: bytes) -> bytes:
    # mtime=0 and no name: the same bytes on every run.
    return gzip.compress(data, compresslevel=9, mtime=0)

def write(name, data: bytes):
    with open(name, "wb") as f:
        f.write(data)

# Real export lines (goaccess issue 1341): `TIMESTAMP MESSAGE`, one a line.
export_lines = open("../goaccess-1341/export-task.v2.log", "rb").read()
assert export_lines.endswith(b"\n")
messages = [l.split(b" ", 1)[1].decode() for l in export_lines.splitlines()]
stamps = [l.split(b" ", 1)[0].decode() for l in export_lines.splitlines()]

# 1. An export-task object as `create-export-task` writes it to S3
#    (<prefix>/<task-id>/<log-stream>/000000.gz): one gzip member of the lines.
write("export-task.000000.gz", gz(export_lines))

# Event timestamps in ms: the export's ISO time, which for flow logs is the
# record's `start` (checked on every real line we have).
def ms(iso):
    import datetime
    d = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ")
    d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp() * 1000)

stream = "eni-d68830d4-all"  # invented: the real stream name was not given
events = []
for i, (m, t) in enumerate(zip(messages, stamps)):
    events.append({
        "logStreamName": stream,
        "timestamp": ms(t),
        "message": m,
        # ingestionTime and eventId are invented (shape: botocore FilteredLogEvent).
        "ingestionTime": ms(t) + 15000 + i,
        "eventId": "3437%052d" % i,
    })

def cli_json(obj) -> bytes:
    # The AWS CLI prints JSON with 4-space indents and a final newline.
    return (json.dumps(obj, indent=4) + "\n").encode()

# 2. `aws logs filter-log-events` (default: the CLI follows nextToken itself
#    and prints one document with every event).
write("filter-log-events.json",
      cli_json({"events": events, "searchedLogStreams": []}))

# 3. The same events fetched page by page (`--no-paginate`, or a script
#    passing `--next-token`) and appended to one file: two documents, the
#    first with `nextToken`, the last without (pagination finished).
token = "Bxkq6kVGFtq2y_MoigeqscPOdhXVbhiVtLoAmXb5jCrI7fXDrEA"  # invented
page1 = {"events": events[:3], "searchedLogStreams": [], "nextToken": token}
page2 = {"events": events[3:], "searchedLogStreams": []}
write("filter-log-events.pages.json", cli_json(page1) + cli_json(page2))

# 4. `aws logs get-log-events` pages appended: the last page repeats the
#    token it was given and has no events (documented end-of-stream signal).
out_events = [{"timestamp": e["timestamp"], "message": e["message"],
               "ingestionTime": e["ingestionTime"]} for e in events]
f1 = "f/3437%052d" % 3
f2 = "f/3437%052d" % 5
b0 = "b/3437%052d" % 0
pages = [
    {"nextForwardToken": f1, "events": out_events[:3], "nextBackwardToken": b0},
    {"nextForwardToken": f2, "events": out_events[3:], "nextBackwardToken": f1.replace("f/", "b/")},
    {"nextForwardToken": f2, "events": [], "nextBackwardToken": f2.replace("f/", "b/")},
]
write("get-log-events.pages.json", b"".join(cli_json(p) for p in pages))

# 5. `aws logs tail` (CLI v2, awscli/customizations/logs/tail.py): detailed
#    format `<isoformat(microseconds)> <stream> <message>`, short format
#    `<%Y-%m-%dT%H:%M:%S> <message>`; colours off (`--color off`).
import datetime
def dt(msv):
    return datetime.datetime.fromtimestamp(msv / 1000.0, datetime.timezone.utc)
write("logs-tail.detailed.log", "".join(
    "%s %s %s\n" % (dt(e["timestamp"]).isoformat(timespec="microseconds"), stream, e["message"])
    for e in events).encode())
write("logs-tail.short.log", "".join(
    "%s %s\n" % (dt(e["timestamp"]).strftime("%Y-%m-%dT%H:%M:%S"), e["message"])
    for e in events).encode())

# 6. A subscription delivered by Firehose to S3 with no Firehose processing
#    and no Firehose compression: the records CloudWatch Logs sent, each
#    already one gzip member, concatenated. Members 1 and 2 are real bytes
#    AWS produced (DATA_MESSAGE from aws-samples, CONTROL_MESSAGE from
#    openobserve); member 3 is our gzip of the OpenTelemetry test payload.
data_real = open("../aws-samples-splunk-lambda/subscription-vpcflow.member.gz", "rb").read()
control_real = open("../openobserve/control-message.member.gz", "rb").read()
otel = open("../otel-contrib/valid_vpc_flow_cw.json", "rb").read()
firehose = data_real + control_real + gz(otel)
write("firehose-s3.gz", firehose)

# 7. The same with Firehose compression GZIP on top: gzip of gzip members.
write("firehose-s3.double.gz", gz(firehose))

# 8. Firehose "decompression" processor on, no delimiter: the JSON objects
#    back to back, `}{` between them, no newline anywhere.
plain = [gzip.decompress(data_real), gzip.decompress(control_real), otel]
write("firehose-s3.decompressed.json", b"".join(plain))

# 9. Decompression plus AppendDelimiterToRecord: one JSON object a line.
write("firehose-s3.decompressed-nl.json", b"".join(p + b"\n" for p in plain))

# 10. Decompression plus message extraction: only the messages of the
#     DATA_MESSAGE records, one a line (control message dropped).
#     [unverified: how Firehose treats CONTROL_MESSAGE under extraction]
msgs = []
for p in plain:
    o = json.loads(p)
    if o["messageType"] == "DATA_MESSAGE":
        msgs += [e["message"] for e in o["logEvents"]]
write("firehose-s3.extracted.log", "".join(m + "\n" for m in msgs).encode())

# 11. The same records as an S3 text object would hold them (default v2
#     header, then the messages): the reference a test compares each form's
#     aggregate with.
header = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
write("export-task.s3-equivalent.log", header + "".join(m + "\n" for m in messages).encode())
write("firehose-s3.s3-equivalent.log", header + "".join(m + "\n" for m in msgs).encode())

# 12. Hostile: a DATA_MESSAGE with no events, then one with an event whose
#     message is not a flow log (another log group subscribed by mistake).
empty = {"messageType": "DATA_MESSAGE", "owner": "647604195155",
         "logGroup": "VPCFlowLogGroup", "logStream": "eni-0c19436730cc350ae-all",
         "subscriptionFilters": ["flowlogstest"], "logEvents": []}
wrong = dict(empty, logGroup="/aws/lambda/test-function",
             logStream="2023/12/18/[$LATEST]0123456789abcdef",
             logEvents=[{"id": "1", "timestamp": 1702918083000,
                         "message": "START RequestId: 0 Version: $LATEST\n"}])
write("firehose-s3.hostile.gz",
      gz(json.dumps(empty, separators=(",", ":")).encode())
      + data_real
      + gz(json.dumps(wrong, separators=(",", ":")).encode()))
EOF
