#!/usr/bin/env python3
"""Pre-aggregate VPC flow logs with Spark for flowscope.

Reads flow logs (S3-style text, gzip or not, each file starting with its
header line; or Parquet as AWS delivers it), registers them as a view with
AWS's Parquet/Athena column names (log_status, not log-status), runs the
query `flowscope sql --engine spark` printed, and writes the result as
Parquet (default) or space-separated text with a header line. flowscope
reads either: `flowscope summarize OUT/`.

    flowscope sql --engine spark --table flow_logs --format "$(zcat f.log.gz | head -1)" > q.sql
    python3 preaggregate.py --sql q.sql --out reduced/ logs/

Files of different formats (v2, v3, v5 flow logs in one bucket) are read
per format and unioned by column name; a column a format lacks is null,
which flowscope reads as it reads a record without that field. Without
--sql the query is asked of `flowscope sql` (--flowscope) for the union
of the columns.

Local mode needs only `pip install pyspark` and Java 17; on a cluster, run
it with spark-submit (input and output may be s3a:// paths).
"""

import argparse
import glob
import gzip
import json
import os
import subprocess
import sys


def inputs(paths):
    """Files under the paths given (directories walked; hidden files,
    Spark's _SUCCESS markers and an inventory's .json files left out)."""
    out = []
    for p in paths:
        if "://" in p:
            out.append(p)
        elif os.path.isdir(p):
            for f in sorted(glob.glob(os.path.join(p, "**", "*"), recursive=True)):
                name = os.path.basename(f)
                if os.path.isfile(f) and not name.startswith((".", "_")) \
                        and not name.endswith((".json", ".csv", ".yaml")):
                    out.append(f)
        else:
            out.append(p)
    return out


def header(path):
    """A local text file's header line, split into column names."""
    with open(path, "rb") as f:
        magic = f.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    with opener(path, "rt") as f:
        return f.readline().split()


def load(spark, files, kind):
    """The records of `files` as one DataFrame with AWS's Parquet/Athena
    column names."""

    def names(df):
        # One spelling of column names: AWS's Parquet/Athena one.
        return df.toDF(*[c.strip().lower().replace("-", "_") for c in df.columns])

    if kind == "parquet":
        return names(spark.read.parquet(*files))
    # S3 flow logs: fields separated by one space, a header line of field
    # names, `-` for absent values (kept as text: the query casts counters
    # with TRY_CAST, and flowscope reads `-` as absent). One read per
    # header (format), unioned by name.
    groups = {}
    for f in files:
        key = tuple(header(f)) if "://" not in f else ("",)
        groups.setdefault(key, []).append(f)
    df = None
    for group in groups.values():
        part = names(spark.read.csv(group, sep=" ", header=True, inferSchema=False))
        df = part if df is None else df.unionByName(part, allowMissingColumns=True)
    return df


def run(spark, job):
    """One job: {paths, out, input, output, sql, engine, sql_args, table, files}."""
    files = inputs(job["paths"])
    if not files:
        sys.exit("preaggregate.py: no input file in %s" % job["paths"])
    table = job.get("table", "flow_logs")
    engine = job.get("engine", "spark")
    df = load(spark, files, job.get("input", "text"))
    df.createOrReplaceTempView(table)
    if job.get("sql"):
        with open(job["sql"]) as f:
            text = f.read()
    else:
        text = subprocess.run(
            [job.get("flowscope", "flowscope"), "sql", "--engine", engine, "--table", table,
             "--format", " ".join(df.columns)] + job.get("sql_args", []),
            check=True, capture_output=True, text=True,
        ).stdout
    # Athena's dialect quotes identifiers in double quotes, which Spark
    # reads as identifiers too in ANSI mode with this setting: the same
    # query text runs on both (tests/spark.rs).
    spark.conf.set("spark.sql.ansi.doubleQuotedIdentifiers", str(engine == "athena").lower())
    # Spark runs one statement: drop the comment lines.
    query = "\n".join(l for l in text.splitlines() if not l.startswith("--"))
    out = spark.sql(query).coalesce(max(job.get("files", 1), 1))
    if job.get("output", "parquet") == "parquet":
        out.write.mode("overwrite").parquet(job["out"])
    else:
        # Nulls (a NODATA record's counters) as `-`, as AWS writes them.
        out.write.mode("overwrite").csv(
            job["out"], sep=" ", header=True, nullValue="-", emptyValue="-", compression="gzip"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", help="flow-log files or directories")
    ap.add_argument("--sql", help="file with the query of `flowscope sql --engine spark` "
                    "(default: asked of --flowscope for the columns read)")
    ap.add_argument("--flowscope", default="flowscope", help="the flowscope binary")
    ap.add_argument("--out", help="output directory (replaced)")
    ap.add_argument("--table", default="flow_logs", help="the view the query reads (its --table)")
    ap.add_argument("--input", choices=["text", "parquet"], default="text")
    ap.add_argument("--output", choices=["parquet", "text"], default="parquet")
    ap.add_argument("--files", type=int, default=1, help="output files (partitions) to write")
    ap.add_argument("--jobs", help="a JSON list of jobs, each an object with these options as "
                    "keys (paths, out, ...), run in one Spark session (tests)")
    args = ap.parse_args()
    if args.jobs:
        with open(args.jobs) as f:
            jobs = json.load(f)
    elif args.paths and args.out:
        jobs = [dict(paths=args.paths, out=args.out, sql=args.sql, flowscope=args.flowscope,
                     table=args.table, input=args.input, output=args.output, files=args.files)]
    else:
        ap.error("give input paths and --out, or --jobs")

    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.appName("flowscope-preaggregate")
        # No _SUCCESS marker next to the results, no progress bar.
        .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.ansi.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    for job in jobs:
        run(spark, job)
    spark.stop()


if __name__ == "__main__":
    main()
