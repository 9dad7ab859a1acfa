use super::*;

fn spec(engine: Engine, format: Option<&str>, bucket: Option<u64>) -> Spec {
    Spec {
        engine,
        table: "vpc_flow_logs".into(),
        format: format.map(|f| Format::parse(f).unwrap()),
        bucket,
    }
}

/// The Athena query over AWS's documented table: Trino's double quotes on
/// every identifier (`"end"` is reserved), the DDL's underscore names,
/// tcp-flags a key (never OR-ed), counters summed, no backtick anywhere.
#[test]
fn athena_query_over_the_documented_table() {
    let sql = query(&spec(Engine::Athena, None, None)).unwrap();
    assert!(!sql.contains('`'), "{sql}");
    for want in [
        "\"interface_id\" AS \"interface_id\"",
        "\"log_status\" AS \"log_status\"",
        "\"tcp_flags\" AS \"tcp_flags\"",
        "\"pkt_src_aws_service\" AS \"pkt_src_aws_service\"",
        "\"traffic_path\" AS \"traffic_path\"",
        "SUM(TRY_CAST(\"packets\" AS BIGINT)) AS \"packets\"",
        "SUM(TRY_CAST(\"bytes\" AS BIGINT)) AS \"bytes\"",
        "MIN(TRY_CAST(\"start\" AS BIGINT)) AS \"start\"",
        "MAX(TRY_CAST(\"end\" AS BIGINT)) AS \"end\"",
        "COUNT(*) AS \"flows\"",
        "FROM vpc_flow_logs\n",
    ] {
        assert!(sql.contains(want), "{want} missing from\n{sql}");
    }
    let group = sql.split("GROUP BY").nth(1).unwrap();
    assert!(group.contains("\"tcp_flags\""), "{group}");
    for absent in [
        "packets",
        "bytes",
        "start",
        "\"end\"",
        "version",
        "sublocation",
    ] {
        assert!(!group.contains(absent), "{absent} grouped:\n{sql}");
    }
    assert!(
        !sql.contains("BIT_OR") && !sql.contains("bitwise_or"),
        "{sql}"
    );
    // Every key column is selected and grouped by, once.
    assert_eq!(group.matches(",\n").count() + 1, KEY_FIELDS.len());
}

#[test]
fn spark_quotes_with_backticks_and_takes_the_format_given() {
    let sql = query(&spec(
        Engine::Spark,
        Some("${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"),
        None,
    ))
    .unwrap();
    assert!(!sql.contains('"'), "{sql}");
    assert!(
        sql.contains("MAX(TRY_CAST(`end` AS BIGINT)) AS `end`"),
        "{sql}"
    );
    assert!(sql.contains("`log_status` AS `log_status`"), "{sql}");
    // Only the table's columns.
    assert!(
        !sql.contains("tcp_flags") && !sql.contains("vpc_id"),
        "{sql}"
    );
}

#[test]
fn bucket_and_merging_pre_aggregated_tables() {
    let sql = query(&spec(
        Engine::Athena,
        Some("interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flows"),
        Some(3600),
    ))
    .unwrap();
    assert!(
        sql.contains("SUM(TRY_CAST(\"flows\" AS BIGINT)) AS \"flows\""),
        "{sql}"
    );
    assert!(!sql.contains("COUNT(*)"), "{sql}");
    let t = "COALESCE(TRY_CAST(\"start\" AS BIGINT), TRY_CAST(\"end\" AS BIGINT))";
    assert!(sql.contains(&format!("{t} - {t} % 3600")), "{sql}");
}

#[test]
fn what_cannot_be_written_is_said() {
    let e = query(&spec(
        Engine::Spark,
        Some("interface-id srcaddr protocol"),
        None,
    ))
    .unwrap_err();
    assert_eq!(e, SqlError::Missing("dstaddr"));
    let mut s = spec(Engine::Spark, None, None);
    s.table = "logs; DROP TABLE x".into();
    assert!(matches!(query(&s), Err(SqlError::BadTable(_))));
    s.table = "db.flow_logs".into();
    assert!(query(&s).unwrap().contains("FROM db.flow_logs\n"));
    assert_eq!(
        query(&spec(Engine::Spark, None, Some(0))),
        Err(SqlError::ZeroBucket)
    );
    let tgw = "version resource-type account-id tgw-id tgw-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end";
    assert!(matches!(
        query(&spec(Engine::Athena, Some(tgw), None)),
        Err(SqlError::Tgw(_))
    ));
}
