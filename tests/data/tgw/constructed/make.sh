#!/bin/sh
# Builds constructed Transit Gateway flow-log test files. No real TGW
# default-format record was found in public sources (see ../SOURCES.md), so
# these records are invented: the field order is AWS's documented default
# (../aws-docs/tgw-fields.tsv, 36 fields, version 6), the values are made up
# to tell a small story, with documentation-style ids and private addresses:
#
#   VPC A (account 111122223333, attachment tgw-attach-0aaaaaaaaaaaaaaa1)
#   client 10.1.0.10 opens TCP to 10.2.0.20:443 in VPC B (account
#   444455556666, attachment tgw-attach-0bbbbbbbbbbbbbbb2) through
#   tgw-0a1b2c3d4e5f60718. A TGW flow log sees each direction twice: on
#   the attachment it enters (flow-direction ingress) and the one it
#   leaves by (egress); tgw-pair-attachment-id names the other one.
#   A fifth record is a packet to 10.3.0.30:22 dropped for want of a route
#   (packets-lost-no-route = packets, destination fields `-`).
#
# Which fields AWS fills with `-` on a dropped flow, and what `start`/`end`
# look like there, are assumptions, not observations.
#
# Reproducible: gzip members carry mtime 0 and no name. Needs sh, python3.
set -eu
cd "$(dirname "$0")"

python3 - <<'EOF'
import datetime, gzip, json

def gz(b):
    return gzip.compress(b, compresslevel=9, mtime=0)

def write(name, b):
    with open(name, "wb") as f:
        f.write(b)

fields = [l.split("\t")[1] for l in
          open("../aws-docs/tgw-fields.tsv").read().splitlines()[1:]]
assert len(fields) == 36

A = dict(acct="111122223333", vpc="vpc-0aaaaaaaaaaaaaaa1", subnet="subnet-0aaaaaaaaaaaaaaa1",
         eni="eni-0aaaaaaaaaaaaaaa1", az="use1-az1", att="tgw-attach-0aaaaaaaaaaaaaaa1")
B = dict(acct="444455556666", vpc="vpc-0bbbbbbbbbbbbbbb2", subnet="subnet-0bbbbbbbbbbbbbbb2",
         eni="eni-0bbbbbbbbbbbbbbb2", az="use1-az2", att="tgw-attach-0bbbbbbbbbbbbbbb2")
NONE = dict(acct="-", vpc="-", subnet="-", eni="-", az="-", att="-")
TGW, OWNER = "tgw-0a1b2c3d4e5f60718", "111122223333"

def rec(at, src, dst, direction, saddr, daddr, sport, dport, proto, pkts, byts,
        flags, lost=(0, 0, 0, 0), start=1700000000, end=1700000060):
    pair = dst if at is src else src
    v = {
        "version": "6", "resource-type": "TransitGateway", "account-id": OWNER,
        "tgw-id": TGW, "tgw-attachment-id": at["att"],
        "tgw-src-vpc-account-id": src["acct"], "tgw-dst-vpc-account-id": dst["acct"],
        "tgw-src-vpc-id": src["vpc"], "tgw-dst-vpc-id": dst["vpc"],
        "tgw-src-subnet-id": src["subnet"], "tgw-dst-subnet-id": dst["subnet"],
        "tgw-src-eni": src["eni"], "tgw-dst-eni": dst["eni"],
        "tgw-src-az-id": src["az"], "tgw-dst-az-id": dst["az"],
        "tgw-pair-attachment-id": pair["att"],
        "srcaddr": saddr, "dstaddr": daddr, "srcport": str(sport), "dstport": str(dport),
        "protocol": str(proto), "packets": str(pkts), "bytes": str(byts),
        "start": str(start), "end": str(end), "log-status": "OK", "type": "IPv4",
        "packets-lost-no-route": str(lost[0]), "packets-lost-blackhole": str(lost[1]),
        "packets-lost-mtu-exceeded": str(lost[2]), "packets-lost-ttl-expired": str(lost[3]),
        "tcp-flags": str(flags), "region": "us-east-1", "flow-direction": direction,
        "pkt-src-aws-service": "-", "pkt-dst-aws-service": "-",
    }
    assert set(v) == set(fields)
    return " ".join(v[f] for f in fields)

records = [
    rec(A, A, B, "ingress", "10.1.0.10", "10.2.0.20", 49152, 443, 6, 10, 1500, 3),
    rec(B, A, B, "egress", "10.1.0.10", "10.2.0.20", 49152, 443, 6, 10, 1500, 3),
    rec(B, B, A, "ingress", "10.2.0.20", "10.1.0.10", 443, 49152, 6, 8, 4200, 19),
    rec(A, B, A, "egress", "10.2.0.20", "10.1.0.10", 443, 49152, 6, 8, 4200, 19),
    rec(A, A, NONE, "ingress", "10.1.0.10", "10.3.0.30", 40000, 22, 6, 3, 180, 2,
        lost=(3, 0, 0, 0)),
]
for r in records:
    assert len(r.split(" ")) == 36
text = "".join(r + "\n" for r in records).encode()
header = (" ".join(fields) + "\n").encode()

# As a CloudWatch Logs message is (no header), and as Firehose message
# extraction or `jq -r .events[].message` would leave it.
write("tgw-default.headerless.log", text)
# As an S3 text object is: a header line, then the records; gzip.
write("tgw-default.s3-with-header.log", header + text)
write("tgw-default.s3-with-header.log.gz", gz(header + text))

# As a CloudWatch Logs export task writes it: event time (= start) first.
def iso(sec):
    return datetime.datetime.fromtimestamp(sec, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")
write("tgw-default.export-task.log",
      "".join("%s %s\n" % (iso(int(r.split(" ")[23])), r) for r in records).encode())

# A subscription record (one gzip member). Log group and stream names are
# invented; how AWS names TGW log streams was not found. [unverified]
payload = {
    "messageType": "DATA_MESSAGE", "owner": OWNER, "logGroup": "/aws/tgw/flowlogs",
    "logStream": TGW, "subscriptionFilters": ["tgw-to-firehose"],
    "logEvents": [{"id": "3738%052d" % i, "timestamp": int(r.split(" ")[23]) * 1000,
                   "message": r} for i, r in enumerate(records)],
}
write("tgw-subscription.member.gz", gz(json.dumps(payload, separators=(",", ":")).encode()))

# VPC and TGW records in one CloudWatch Logs export (two flow logs sending
# to one log group; each stream is one resource, the export interleaves
# streams). A reader must tell the formats apart per line.
vpc = open("../../cloudwatch/goaccess-1341/export-task.v2.log").read().splitlines()
tgw = open("tgw-default.export-task.log").read().splitlines()
write("mixed-vpc-tgw.export-task.log", ("\n".join(vpc[:2] + tgw[:2] + vpc[2:]) + "\n").encode())

# A sweep across VPCs through the transit gateway (for `scans`): at
# 1700000300 (one 5-minute window) host 10.1.0.99 in VPC A tries TCP 22
# on 12 addresses of VPC B (forwarded: logged on A as ingress and on B as
# egress; no answer, flags 2) and on 12 addresses of 10.4.0.0/24, for
# which the gateway has no route (logged on A only, the packet lost as
# no-route). Plus the five records above, ordinary traffic. Written as an
# S3 object with its header. Which attachment logs a dropped packet is an
# assumption (the one it entered by).
scan = []
for i in range(12):
    daddr = "10.2.0.%d" % (100 + i)
    for at, d in ((A, "ingress"), (B, "egress")):
        scan.append(rec(at, A, B, d, "10.1.0.99", daddr, 50000 + i, 22, 6, 1, 60, 2,
                        start=1700000300, end=1700000360))
for i in range(12):
    scan.append(rec(A, A, NONE, "ingress", "10.1.0.99", "10.4.0.%d" % (10 + i),
                    51000 + i, 22, 6, 1, 60, 2, lost=(1, 0, 0, 0),
                    start=1700000300, end=1700000360))
write("tgw-scan.s3-with-header.log",
      header + text + "".join(r + "\n" for r in scan).encode())

# `aws ec2 describe-flow-logs` for a TGW flow log and a VPC flow log sending
# to different log groups (shape: botocore ec2 FlowLog). For the TGW one the
# default format is written out in LogFormat, as AWS does for VPC flow logs
# (aws-cli example); whether TrafficType appears for TGW flow logs is not
# known, so it is left out there. [unverified]
log_format = " ".join("${%s}" % f for f in fields)
doc = {"FlowLogs": [
    {"CreationTime": "2023-11-14T21:50:00.000Z",
     "DeliverLogsPermissionArn": "arn:aws:iam::111122223333:role/tgw-flow-logs",
     "DeliverLogsStatus": "SUCCESS", "FlowLogId": "fl-0123456789abcdef0",
     "FlowLogStatus": "ACTIVE", "LogGroupName": "/aws/tgw/flowlogs",
     "ResourceId": TGW, "LogDestinationType": "cloud-watch-logs",
     "LogFormat": log_format, "MaxAggregationInterval": 60},
    {"CreationTime": "2018-02-21T13:22:12.644Z",
     "DeliverLogsPermissionArn": "arn:aws:iam::111122223333:role/flow-logs-role",
     "DeliverLogsStatus": "SUCCESS", "FlowLogId": "fl-aabbccdd112233445",
     "FlowLogStatus": "ACTIVE", "LogGroupName": "FlowLogGroup",
     "ResourceId": "vpc-0aaaaaaaaaaaaaaa1", "TrafficType": "ALL",
     "LogDestinationType": "cloud-watch-logs",
     "LogFormat": "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}",
     "MaxAggregationInterval": 600},
]}
write("describe-flow-logs.tgw-and-vpc.json", (json.dumps(doc, indent=4) + "\n").encode())
EOF
