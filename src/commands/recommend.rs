//! `flowscope recommend`: rules, their hits, and least-privilege proposals.
//!
//! JSON contract (`-o json`, `"version": 1`):
//! - `window` {`start`, `end`} (epoch seconds, the records analysed), `input`
//!   (the summarize accounting, with `filtered`: records outside
//!   `--since/--until`, left out of the analysis).
//! - `rules`: every rule: `group_id`, `group_name`, `direction`, `protocol`
//!   (AWS IpProtocol: `tcp`, `udp`, `icmp`, `icmpv6`, `-1` or a number),
//!   `from_port`, `to_port`, one of `cidr` | `source_group_id` (the
//!   referenced group) | `prefix_list_id`, `description`, `rule_id`,
//!   `status`, `hits` {`flows`, `bytes`, `peers`, `ports`, `first_seen`,
//!   `last_seen`, `unattributed_flows`}. `status` is `used` (an accepted
//!   flow matched), `unused` (its group's interfaces were logged, nothing
//!   matched), `unobserved` (none of its group's interfaces is in the
//!   logs) or `unobservable` (whether it admitted a flow cannot be told:
//!   its source is a prefix list whose entries were not given, or a group
//!   whose members are unknown, such as another account's or a peered VPC's;
//!   or every flow it may have admitted came from too many peers to list).
//!   `unobservable` rules are never reported unused and never changed.
//! - `recommendations`: `kind` (`replace-cidr-with-group`, `narrow-cidr`,
//!   `narrow-ports`, `remove-unused`, `tighten-egress`, `review-public`),
//!   `group_id`, `group_name`, `direction`, `rule` {`protocol`,
//!   `from_port`, `to_port`, and one of `cidr`, `group_id`,
//!   `prefix_list_id`}, `proposed` (rules of the same shape; empty =
//!   remove), `evidence`, `confidence` (`high`|`medium`|`low`), `reason`,
//!   `headline`.
//! - `findings`: `unexplained` (accepted flows no rule can admit),
//!   `unattributed` (accepted flows no rule could be shown to admit, with
//!   the `rules` that may), `rejected_open` (REJECTs on ports a rule opens
//!   to others), `unknown_interfaces`, `unknown_direction_flows`.
//! - `safety`: `checked_flows`, `checked_peers` (accepted flows a rule
//!   admitted: all still admitted), `unattributed_flows` (accepted flows
//!   that could not be attributed: every rule that may admit them is left
//!   unchanged), `withdrawn` (changes dropped because they could deny
//!   accepted flows), `violations` (must be empty: applying every proposal
//!   keeps every accepted flow allowed).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::{locals_of, Filtered, Outcome, Windowed};
use super::{write_accounting, InputJson, Window};
use crate::aggregate::Aggregate;
use crate::config::{RecommendConfig, RecommendFormat};
use crate::engine::Accounting;
use crate::inventory::{Inventory, InventoryPaths, RuleDirection, RuleSpec, RuleTarget};
use crate::recommend::destinations::KnownRanges;
use crate::recommend::services::ServiceTap;
use crate::recommend::{self, group_label, rule_ports, Analysis, Kind, Recommendation, Settings};
use crate::report::proposals::{self, api_ports, conf, controls_label};
use crate::report::{fmt_opt_time, fmt_time, human_bytes, thousands, Output};

mod html;

pub fn run(args: &RecommendConfig, session: &super::Session<'_>) -> Result<Outcome> {
    let said = crate::messages::record(); // -o html lists what the run said
    let mut inv = load_inventory(args)?;
    let mut known = read_known_ranges(args)?;
    for w in &inv.warnings {
        crate::warning!("inventory: {w}");
    }
    if args.output == RecommendFormat::Cfn && inv.template.is_none() {
        bail!("-o cfn needs a CloudFormation template: --template FILE (or template.json in the directory)");
    }
    // A template of another stack would come out unchanged: say so, exit 1 (as for data
    // that cannot be used), before reading any log.
    if let Some(problem) = inv
        .template
        .as_ref()
        .and_then(|t| t.match_problem(&inv.groups))
    {
        if args.output == RecommendFormat::Cfn {
            crate::error!("-o cfn: {problem}");
            return Ok(Outcome::DataErrors);
        }
    }
    let mut out = Output::open(args.output_file.as_deref())?;
    let locals = Arc::new(locals_of(&inv));
    let window = super::window_filter(&args.window)?;
    let keys = Arc::new(crate::aggregate::RejectedKeys::default());
    let (run, outcome) = super::read_logs_in(
        &args.input,
        (args.window.since, args.window.until),
        session,
        || {
            Windowed::new(
                ServiceTap::new(Aggregate::sharing(Some(locals.clone()), keys.clone())),
                window.clone(),
            )
        },
    )?;
    if args.input.strict && outcome == Outcome::DataErrors {
        return Ok(outcome);
    }
    let filtered = run.processor.filtered;
    filtered.warn_if_everything(&run.accounting);
    let tap = run.processor.inner;
    let mut summary = tap.inner.finish();
    super::warn_overflow(&summary);
    super::ignore_attachments(&mut summary);
    known.observed = tap.services;
    if known.observed.odd_values > 0 {
        crate::warning!(
            "{} pkt-src/dst-aws-service values are not AWS service names; they were not used",
            known.observed.odd_values
        );
    }
    usable_lists(&mut known, &mut inv);
    let settings = Settings {
        max_groups: args.max_groups.max(1),
        max_prefixes: args.max_prefixes.max(1),
        public_peers: args.public_peers.max(1),
        known: Arc::new(known),
        ..Settings::default()
    };
    // Groups of another account or region than the logs' explain nothing:
    // say so instead of "0 recommendations".
    let logged: Vec<&str> = summary
        .interfaces
        .iter()
        .filter_map(|s| s.interface_id.as_deref())
        .collect();
    if !logged.is_empty() && logged.iter().all(|id| inv.interface(id).is_none()) {
        crate::error!(
            "none of the {} interfaces in the logs (e.g. {}) is in the inventory's {} network interfaces; \
             are the inventory and the logs from the same account and region?",
            logged.len(),
            // An interface id is any token of the log line: escapes it holds must not reach
            // the terminal.
            crate::flowlog::sniff::printable(logged[0]),
            inv.interfaces.len()
        );
        return Ok(Outcome::DataErrors);
    }
    let mut analysis = recommend::analyse(&inv, &summary, &settings);
    // --group, --kind, --min-confidence: what every output shows.
    analysis.select(&args.group, &args.kind, args.min_confidence.0);
    for v in &analysis.safety.violations {
        crate::error!("safety check failed (a bug; please report): {v}");
    }
    match args.output {
        RecommendFormat::Table => {
            write_table(&mut out, &inv, &analysis, &run.accounting, filtered)?
        }
        RecommendFormat::Json => write_json(&mut out, &inv, &analysis, &run.accounting, filtered)?,
        RecommendFormat::Cli => {
            let o = proposals::CliOptions {
                include_low: args.include_low,
                aws_args: args.aws_args.clone(),
            };
            proposals::write_cli(&mut out, &inv, &analysis, &o)?
        }
        RecommendFormat::Cfn => {
            for w in proposals::write_cfn(&mut out, &inv, &analysis)? {
                crate::warning!("{w}");
            }
        }
        RecommendFormat::Terraform => proposals::write_terraform(&mut out, &inv, &analysis)?,
        RecommendFormat::Html => html::write(
            &mut out,
            args,
            (&inv, &analysis, &summary),
            (&run.accounting, filtered, &said),
        )?,
    }
    out.finish()?;
    Ok(outcome)
}

/// Inventory files from the flags (files or directories, each flag repeatable), else from the
/// directories among the inputs: every one of them, merged (two directories of logs are two
/// accounts or regions, and each brings its own groups).
fn load_inventory(args: &RecommendConfig) -> Result<Inventory> {
    use crate::inventory::{
        expand_dirs, GROUP_FILES, GROUP_RULE_FILES, INTERFACE_FILES, STALE_GROUP_FILES,
    };
    let mut paths = InventoryPaths {
        groups: expand_dirs(&args.groups, &[GROUP_FILES, GROUP_RULE_FILES])?,
        interfaces: expand_dirs(&args.interfaces, &[INTERFACE_FILES])?,
        template: args.template.clone(),
        stack_resources: args.stack_resources.clone(),
        prefix_lists: args.prefix_lists.iter().cloned().collect(),
        stale_groups: expand_dirs(&args.stale_groups, &[STALE_GROUP_FILES])?,
        ..Default::default()
    };
    let mut templates = Vec::new();
    let mut stacks = Vec::new();
    for p in args.input.paths.iter().filter(|p| p.is_dir()) {
        let Some(found) = Inventory::from_dir(p)? else {
            continue;
        };
        // A flag names the files of its kind: the directory's are left out, and said so.
        if args.groups.is_empty() {
            paths.groups.extend(found.groups);
            paths.group_rules.extend(found.group_rules);
        } else {
            let given = &paths.groups;
            ignored(
                "--groups",
                given,
                found.groups.iter().chain(&found.group_rules),
            );
        }
        if args.interfaces.is_empty() {
            paths.interfaces.extend(found.interfaces);
        } else {
            ignored("--interfaces", &paths.interfaces, &found.interfaces);
        }
        if args.prefix_lists.is_none() {
            paths.prefix_lists.extend(found.prefix_lists);
        } else {
            ignored("--prefix-lists", &paths.prefix_lists, &found.prefix_lists);
        }
        if args.stale_groups.is_empty() {
            paths.stale_groups.extend(found.stale_groups);
        } else {
            ignored("--stale-groups", &paths.stale_groups, &found.stale_groups);
        }
        templates.extend(found.template);
        stacks.extend(found.stack_resources);
    }
    // One template is patched: the flag's, else the only one found.
    for (slot, found, flag) in [
        (&mut paths.template, templates, "--template"),
        (&mut paths.stack_resources, stacks, "--stack-resources"),
    ] {
        if let Some(given) = slot {
            ignored(flag, std::slice::from_ref(given), &found);
            continue;
        }
        if found.len() > 1 {
            crate::warning!(
                "{} files found ({}); using the first: name one with {flag}",
                found.len(),
                found
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        *slot = found.into_iter().next();
    }
    if paths.groups.is_empty() && paths.group_rules.is_empty() {
        bail!(
            "recommend needs the security groups: --groups FILE (aws ec2 describe-security-groups), \
             or a directory argument holding security-groups.json"
        );
    }
    if paths.interfaces.is_empty() {
        bail!(
            "recommend needs the network interfaces: --interfaces FILE (aws ec2 describe-network-interfaces), \
             or a directory argument holding network-interfaces.json"
        );
    }
    Inventory::load(&paths).context("loading the inventory")
}

/// The public ranges that may be pinned (`--stable-cidrs`, `--aws-ip-ranges`,
/// `--aws-prefix-lists`), read before the logs so that a bad file fails fast.
fn read_known_ranges(args: &RecommendConfig) -> Result<KnownRanges> {
    use crate::recommend::destinations::{
        parse_ip_ranges, parse_managed_lists, parse_stable_cidrs,
    };
    fn read<T>(
        path: &Option<PathBuf>,
        parse: fn(&str) -> std::result::Result<T, String>,
    ) -> Result<Option<T>> {
        let Some(p) = path else { return Ok(None) };
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        parse(&text)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
    }
    Ok(KnownRanges {
        stable: read(&args.stable_cidrs, parse_stable_cidrs)?.unwrap_or_default(),
        aws: read(&args.aws_ip_ranges, parse_ip_ranges)?.unwrap_or_default(),
        lists: read(&args.aws_prefix_lists, parse_managed_lists)?.unwrap_or_default(),
        observed: Default::default(),
    })
}

/// The AWS-managed lists whose entries are known (given, from `ip-ranges.json`, or the
/// addresses the logs name as the service): they join the inventory's prefix lists, so that
/// rules naming them (and proposals) can be evaluated. The others are dropped, and said so.
fn usable_lists(known: &mut KnownRanges, inv: &mut Inventory) {
    let mut usable = Vec::new();
    // Cloned, not taken: the entries of one list depend on the others (the only list of its
    // service).
    for l in known.lists.clone() {
        let entries = known.entries_of(&l);
        if entries.is_empty() {
            crate::warning!(
                "prefix list {} ({}): its entries are unknown (give --aws-ip-ranges, \
                 or describe-prefix-lists output, which lists them); it is not proposed",
                l.id,
                l.name
            );
            continue;
        }
        inv.prefix_lists.entry(l.id.clone()).or_insert(entries);
        usable.push(l);
    }
    known.lists = usable;
}

/// Says that files found next to the logs are not used because a flag named others.
fn ignored<'a>(flag: &str, given: &[PathBuf], files: impl IntoIterator<Item = &'a PathBuf>) {
    for f in files.into_iter().filter(|f| !given.contains(f)) {
        crate::note!("{flag} given: {} is not read", f.display());
    }
}

// ---------------------------------------------------------------- JSON

#[derive(Serialize)]
struct JsonOut<'a> {
    version: u32,
    window: Option<Window>,
    input: InputJson,
    rules: Vec<JsonRule>,
    recommendations: Vec<JsonRecommendation<'a>>,
    findings: JsonFindings<'a>,
    safety: &'a recommend::Safety,
}

#[derive(Serialize)]
struct JsonRuleSpec {
    protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cidr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix_list_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

#[derive(Serialize)]
struct JsonHits {
    flows: u64,
    bytes: u64,
    peers: u64,
    peers_exact: bool,
    ports: Vec<u16>,
    first_seen: Option<u64>,
    last_seen: Option<u64>,
    unattributed_flows: u64,
}

#[derive(Serialize)]
struct JsonRule {
    group_id: String,
    group_name: String,
    direction: RuleDirection,
    protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cidr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix_list_id: Option<String>,
    description: Option<String>,
    rule_id: Option<String>,
    status: recommend::RuleStatus,
    hits: JsonHits,
}

#[derive(Serialize)]
struct JsonRecommendation<'a> {
    kind: Kind,
    group_id: &'a str,
    group_name: &'a str,
    direction: RuleDirection,
    rule: JsonRuleSpec,
    proposed: Vec<JsonRuleSpec>,
    evidence: &'a recommend::Evidence,
    confidence: recommend::Confidence,
    reason: &'a str,
    headline: &'a str,
    controls: &'a [recommend::controls::Control],
}

#[derive(Serialize)]
struct JsonFindings<'a> {
    unexplained: &'a [recommend::Unexplained],
    unexplained_flows: u64,
    unattributed: &'a [recommend::Unattributed],
    unattributed_flows: u64,
    rejected_open: &'a [recommend::RejectedOpen],
    unknown_interfaces: &'a [recommend::UnknownInterface],
    unknown_direction_flows: u64,
    groups: &'a [recommend::controls::GroupFinding],
}

fn rule_spec_json(s: &RuleSpec) -> JsonRuleSpec {
    let (from_port, to_port) = api_ports(&s.protocol, s.from_port, s.to_port);
    let (cidr, group_id, prefix_list_id) = target_parts(&s.target);
    JsonRuleSpec {
        protocol: s.protocol.aws_name(),
        from_port,
        to_port,
        cidr,
        group_id,
        prefix_list_id,
        description: s.description.clone(),
    }
}

fn target_parts(t: &RuleTarget) -> (Option<String>, Option<String>, Option<String>) {
    match t {
        RuleTarget::Cidr(n) => (Some(n.to_string()), None, None),
        RuleTarget::Group { group_id, .. } => (None, Some(group_id.clone()), None),
        RuleTarget::PrefixList(p) => (None, None, Some(p.clone())),
    }
}

fn write_json(
    w: &mut dyn Write,
    inv: &Inventory,
    a: &Analysis,
    acc: &Accounting,
    filtered: Filtered,
) -> Result<()> {
    let rules = a
        .rules
        .iter()
        .map(|rr| {
            let r = &rr.rule;
            let s = RuleSpec::from_rule(r);
            let (from_port, to_port) = api_ports(&s.protocol, s.from_port, s.to_port);
            let (cidr, source_group_id, prefix_list_id) = target_parts(&r.target);
            JsonRule {
                group_id: r.group_id.clone(),
                group_name: inv.groups[rr.group_index].group_name.clone(),
                direction: r.direction,
                protocol: r.protocol.aws_name(),
                from_port,
                to_port,
                cidr,
                source_group_id,
                prefix_list_id,
                description: r.description.clone(),
                rule_id: r.rule_id.clone(),
                status: rr.status,
                hits: JsonHits {
                    flows: rr.hits.flows,
                    bytes: rr.hits.bytes,
                    peers: rr.hits.peers().len() as u64,
                    peers_exact: !rr.hits.has_many(),
                    ports: rr.hits.ports().into_iter().collect(),
                    first_seen: rr.hits.first_seen,
                    last_seen: rr.hits.last_seen,
                    unattributed_flows: rr.hits.unattributed_flows,
                },
            }
        })
        .collect();
    let recommendations = a
        .recommendations
        .iter()
        .map(|r| JsonRecommendation {
            kind: r.kind,
            group_id: &r.rule.group_id,
            group_name: &inv.groups[r.group_index].group_name,
            direction: r.rule.direction,
            rule: rule_spec_json(&RuleSpec::from_rule(&r.rule)),
            proposed: r.proposed.iter().map(rule_spec_json).collect(),
            evidence: &r.evidence,
            confidence: r.confidence,
            reason: &r.reason,
            headline: &r.headline,
            controls: &r.controls,
        })
        .collect();
    let doc = JsonOut {
        version: 1,
        window: a.window.map(|(start, end)| Window { start, end }),
        input: InputJson {
            accounting: acc.to_json(),
            filtered,
        },
        rules,
        recommendations,
        findings: JsonFindings {
            unexplained: &a.unexplained,
            unexplained_flows: a.unexplained_flows,
            unattributed: &a.unattributed,
            unattributed_flows: a.unattributed_flows,
            rejected_open: &a.rejected_open,
            unknown_interfaces: &a.unknown_interfaces,
            unknown_direction_flows: a.unknown_direction_flows,
            groups: &a.group_findings,
        },
        safety: &a.safety,
    };
    crate::report::write_json_pretty(w, &doc)?;
    Ok(())
}

// ---------------------------------------------------------------- table

fn write_table(
    w: &mut dyn Write,
    inv: &Inventory,
    a: &Analysis,
    acc: &Accounting,
    filtered: Filtered,
) -> Result<()> {
    let changes = a
        .recommendations
        .iter()
        .filter(|r| r.kind.changes_rules())
        .count();
    writeln!(
        w,
        "flowscope recommend: {} rules in {} security groups, {} recommendations ({} changes)",
        a.rules.len(),
        inv.groups.len(),
        a.recommendations.len(),
        changes
    )?;
    if let Some((s, e)) = a.window {
        writeln!(
            w,
            "Window: {} to {} ({:.1} h)",
            fmt_time(s),
            fmt_time(e),
            e.saturating_sub(s) as f64 / 3600.0
        )?;
    }
    // Headlines first: what to do, most confident first.
    let mut recs: Vec<&Recommendation> = a.recommendations.iter().collect();
    // Changes before advice, then by confidence and traffic.
    recs.sort_by(|x, y| {
        y.kind
            .changes_rules()
            .cmp(&x.kind.changes_rules())
            .then(y.confidence.cmp(&x.confidence))
            .then(y.evidence.flows.cmp(&x.evidence.flows))
    });
    if !recs.is_empty() {
        writeln!(w, "\nRecommendations:")?;
        for r in &recs {
            writeln!(
                w,
                "  [{:<6}] {:<23} {}{}",
                conf(r.confidence),
                r.kind.as_str(),
                r.headline,
                controls_label(&r.controls)
            )?;
        }
    }
    // Rules and recommendations by group and rule, once: filtering them per
    // group would be O(groups × rules).
    let mut rules_of: Vec<Vec<&recommend::RuleReport>> = vec![Vec::new(); inv.groups.len()];
    for rr in &a.rules {
        rules_of[rr.group_index].push(rr);
    }
    let mut recs_of: std::collections::HashMap<(usize, usize), Vec<&Recommendation>> =
        Default::default();
    for r in &a.recommendations {
        recs_of
            .entry((r.group_index, r.rule_index))
            .or_default()
            .push(r);
    }
    for (gi, g) in inv.groups.iter().enumerate() {
        let rules = &rules_of[gi];
        let members = inv.interfaces_with_group(&g.group_id).count();
        writeln!(
            w,
            "\n{}  ({} interfaces)",
            group_label(inv, &g.group_id),
            members
        )?;
        for rr in rules.iter().copied() {
            let r = &rr.rule;
            let dir = if r.direction == RuleDirection::Ingress {
                "in "
            } else {
                "out"
            };
            let target = match &r.target {
                RuleTarget::Group { group_id, .. } => group_label(inv, group_id),
                t => t.to_string(),
            };
            let hits = match rr.status {
                recommend::RuleStatus::Used => format!(
                    "{} flows, {}, {} peers",
                    thousands(rr.hits.flows),
                    human_bytes(rr.hits.bytes),
                    if rr.hits.has_many() {
                        "many".to_string()
                    } else {
                        rr.hits.peers().len().to_string()
                    }
                ),
                recommend::RuleStatus::Unused => "unused".into(),
                recommend::RuleStatus::Unobserved => {
                    "unobserved (no logs for its interfaces)".into()
                }
                recommend::RuleStatus::Unobservable => match &r.target {
                    t if inv.can_evaluate(t, g.owner_id.as_deref()) => format!(
                        "unobservable ({} flows from too many peers to list)",
                        thousands(rr.hits.unattributed_flows)
                    ),
                    RuleTarget::PrefixList(_) => {
                        "unobservable (prefix-list entries unknown: --prefix-lists)".into()
                    }
                    _ => "unobservable (group members unknown)".into(),
                },
            };
            writeln!(
                w,
                "  {dir} {:<22} {:<40} {}",
                rule_ports(r),
                crate::report::trim(&target, 40),
                hits
            )?;
            for rec in recs_of
                .get(&(gi, rr.rule_index))
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                writeln!(
                    w,
                    "      → {} [{}]: {}",
                    rec.kind.as_str(),
                    conf(rec.confidence),
                    rec.reason
                )?;
                for p in &rec.proposed {
                    writeln!(w, "          + {}", recommend::spec_label_named(inv, p))?;
                }
                if rec.kind.changes_rules() {
                    writeln!(w, "          - {} {}", rule_ports(r), r.target)?;
                }
                if !rec.evidence.top_peers.is_empty() {
                    let peers: Vec<String> = rec
                        .evidence
                        .top_peers
                        .iter()
                        .take(3)
                        .map(|p| {
                            format!(
                                "{}{} ({} flows)",
                                p.address,
                                p.role.as_ref().map(|r| format!(" {r}")).unwrap_or_default(),
                                thousands(p.flows)
                            )
                        })
                        .collect();
                    writeln!(
                        w,
                        "          evidence: {} flows, {}, seen {} to {}; top peers: {}",
                        thousands(rec.evidence.flows),
                        human_bytes(rec.evidence.bytes),
                        fmt_opt_time(rec.evidence.first_seen),
                        fmt_opt_time(rec.evidence.last_seen),
                        peers.join(", ")
                    )?;
                }
            }
        }
    }
    writeln!(w)?;
    if a.unexplained_flows > 0 {
        writeln!(
            w,
            "Unexplained: {} accepted flows no rule of the interface's groups allows (inventory out of date, or traffic the groups do not filter):",
            thousands(a.unexplained_flows)
        )?;
        for u in a.unexplained.iter().take(10) {
            writeln!(
                w,
                "  {} {} {} {} peer {}: {} flows",
                u.interface_id,
                u.direction,
                crate::report::proto_label(u.protocol),
                u.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                u.peer.as_deref().unwrap_or("(many)"),
                thousands(u.flows)
            )?;
        }
    }
    if a.unattributed_flows > 0 {
        writeln!(
            w,
            "Unattributed: {} accepted flows no rule could be shown to allow; the rules that may allow them are left unchanged:",
            thousands(a.unattributed_flows)
        )?;
        for u in a.unattributed.iter().take(10) {
            writeln!(
                w,
                "  {} {} {} {} peer {}: {} flows; may be allowed by {}",
                u.interface_id,
                u.direction,
                crate::report::proto_label(u.protocol),
                u.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                u.peer.as_deref().unwrap_or("(many)"),
                thousands(u.flows),
                u.rules.join("; ")
            )?;
        }
    }
    if !a.safety.withdrawn.is_empty() {
        let n = a.safety.withdrawn.len();
        writeln!(
            w,
            "Withdrawn: {n} {} that could deny accepted flows:",
            if n == 1 { "change" } else { "changes" }
        )?;
        for x in a.safety.withdrawn.iter().take(10) {
            writeln!(w, "  {x}")?;
        }
    }
    if !a.rejected_open.is_empty() {
        writeln!(
            w,
            "Rejected on open ports (source not allowed, or a network ACL):"
        )?;
        for r in a.rejected_open.iter().take(10) {
            writeln!(
                w,
                "  {} {} {}: {} flows from {} peers (e.g. {}); open by {}",
                r.interface_id,
                crate::report::proto_label(r.protocol),
                r.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                thousands(r.flows),
                r.peers,
                r.top_peers.join(", "),
                r.rules.join("; ")
            )?;
        }
    }
    if !a.group_findings.is_empty() {
        writeln!(w, "Group findings:")?;
        for f in &a.group_findings {
            writeln!(
                w,
                "  {:<23} {}: {}{}",
                f.kind,
                group_label(inv, &f.group_id),
                f.detail,
                controls_label(&f.controls)
            )?;
        }
    }
    for u in &a.unknown_interfaces {
        writeln!(
            w,
            "Not in the inventory: {} ({} flows, {})",
            u.interface_id,
            thousands(u.flows),
            human_bytes(u.bytes)
        )?;
    }
    if a.unknown_direction_flows > 0 {
        writeln!(
            w,
            "Direction unknown (not attributed): {} flows",
            thousands(a.unknown_direction_flows)
        )?;
    }
    writeln!(
        w,
        "Safety: applying every change keeps all {} accepted flows ({} peer/service pairs) allowed{}{}",
        thousands(a.safety.checked_flows),
        thousands(a.safety.checked_peers),
        if a.safety.violations.is_empty() {
            String::new()
        } else {
            format!(" EXCEPT {} (see stderr)", a.safety.violations.len())
        },
        if a.safety.unattributed_flows > 0 {
            format!(
                "; {} accepted flows could not be attributed to a rule, and no change touches the rules that may allow them.",
                thousands(a.safety.unattributed_flows)
            )
        } else {
            ".".to_string()
        }
    )?;
    write_accounting(w, acc, filtered)?;
    Ok(())
}
