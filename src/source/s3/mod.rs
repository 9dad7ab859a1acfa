//! `s3://bucket/prefix` inputs: listing, credentials and fetching.
//!
//! Listing runs before the engine starts (it takes a slice of inputs);
//! each object found becomes an `Input::S3` and is queued for fetching at
//! once, so GETs overlap the rest of the listing and the parsing. A
//! driver task fetches the queue in order, at most `SLOTS` objects ahead
//! of the readers; each object's body is buffered up to `BUDGET` bytes
//! before its fetch waits for the reader. Memory is therefore bounded
//! (`SLOTS × BUDGET`, 64 MiB) however many objects there are, and a
//! worker that opens an object usually finds it already fetched. The
//! engine reads an object like a file (gzip by magic bytes, header
//! lines, the same accounting); a failed object is an input that could
//! not be read, named by its `s3://` URL.
//!
//! The async side (object_store is async) runs on a small tokio runtime
//! of its own; the engine's threads only block on channels.

pub mod profile;

use std::collections::HashSet;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AwsCredential};
use object_store::path::Path as KeyPath;
use object_store::{CredentialProvider, ObjectStore, ObjectStoreExt, RetryConfig};
use tokio::sync::{mpsc, Semaphore};

use super::layout::Window;

/// Objects fetched ahead of the readers, at most (concurrent GETs).
const SLOTS: usize = 16;
/// Bytes of one object buffered ahead of its reader, at most.
const BUDGET: usize = 4 << 20;

pub type Credentials = Arc<dyn CredentialProvider<Credential = AwsCredential>>;

/// Options for `s3://` inputs, as the AWS CLI names them.
/// How to reach S3 (`--region`, `--endpoint-url`, `--no-sign-request`,
/// `--profile`); unset values come from the environment and profiles.
#[derive(Debug, Clone, Default)]
pub struct S3Config {
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub no_sign_request: bool,
    pub profile: Option<String>,
}

/// One object to read, named by its `s3://` URL.
#[derive(Clone)]
pub struct Object(Arc<ObjectInner>);

struct ObjectInner {
    url: String,
    /// The body, taken by the one reader.
    body: Mutex<Option<Body>>,
}

struct Body {
    rx: mpsc::UnboundedReceiver<Result<Bytes, String>>,
    budget: Arc<Semaphore>,
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.url)
    }
}

impl PartialEq for Object {
    fn eq(&self, o: &Object) -> bool {
        self.0.url == o.0.url
    }
}
impl Eq for Object {}

impl Object {
    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// Waits for the object's response; its body as a reader.
    pub fn open(&self) -> io::Result<ObjectReader> {
        let body = self
            .0
            .body
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .take();
        let Some(mut body) = body else {
            return Err(io::Error::other("object already read"));
        };
        let first = body.rx.blocking_recv();
        let mut r = ObjectReader {
            body,
            cur: Bytes::new(),
            charged: 0,
        };
        match first {
            Some(Ok(b)) => r.set(b),
            Some(Err(m)) => return Err(io::Error::other(m)),
            None => {}
        }
        Ok(r)
    }
}

/// The body of an object, as its fetch delivers it.
pub struct ObjectReader {
    body: Body,
    cur: Bytes,
    /// Budget held by `cur`, given back once it is read.
    charged: usize,
}

fn cost(len: usize) -> usize {
    len.clamp(1, BUDGET)
}

impl ObjectReader {
    fn set(&mut self, b: Bytes) {
        self.charged = cost(b.len());
        self.cur = b;
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.cur.is_empty() {
                let n = buf.len().min(self.cur.len());
                buf[..n].copy_from_slice(&self.cur[..n]);
                bytes::Buf::advance(&mut self.cur, n);
                return Ok(n);
            }
            if self.charged > 0 {
                self.body
                    .budget
                    .add_permits(std::mem::take(&mut self.charged));
            }
            match self.body.rx.blocking_recv() {
                Some(Ok(b)) => self.set(b),
                Some(Err(m)) => return Err(io::Error::other(m)),
                None => return Ok(0),
            }
        }
    }
}

impl Drop for ObjectReader {
    fn drop(&mut self) {
        // A fetch waiting for budget stops; the slot goes to the next.
        self.body.budget.close();
        fetcher().slots.add_permits(1);
    }
}

/// What the S3 side did, for `FLOWSCOPE_DEBUG=s3` and the pruning note.
#[derive(Debug, Default)]
pub struct Stats {
    pub lists: AtomicU64,
    pub gets: AtomicU64,
    pub bytes: AtomicU64,
    /// Objects listed but not fetched: outside --since/--until by name.
    pub pruned_objects: AtomicU64,
    /// Date folders not listed: outside --since/--until.
    pub pruned_prefixes: AtomicU64,
}

struct Job {
    store: Arc<AmazonS3>,
    key: KeyPath,
    tx: mpsc::UnboundedSender<Result<Bytes, String>>,
    budget: Arc<Semaphore>,
}

/// The process-wide fetcher: runtime, queue, slots and counts.
struct Fetcher {
    rt: tokio::runtime::Runtime,
    queue: mpsc::UnboundedSender<Job>,
    slots: Arc<Semaphore>,
    stats: Arc<Stats>,
    queued: Mutex<HashSet<String>>,
    /// The resolved settings and one client per bucket.
    clients: Mutex<std::collections::HashMap<String, Arc<AmazonS3>>>,
}

static FETCHER: OnceLock<Fetcher> = OnceLock::new();

fn fetcher() -> &'static Fetcher {
    FETCHER.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("flowscope-s3")
            .enable_all()
            .build()
            .expect("cannot start the S3 runtime");
        let (queue, rx) = mpsc::unbounded_channel();
        let slots = Arc::new(Semaphore::new(SLOTS));
        let stats = Arc::new(Stats::default());
        rt.spawn(drive(rx, slots.clone(), stats.clone()));
        Fetcher {
            rt,
            queue,
            slots,
            stats,
            queued: Mutex::new(HashSet::new()),
            clients: Mutex::new(Default::default()),
        }
    })
}

/// The counts so far; None when no s3:// input was named.
pub fn stats() -> Option<&'static Stats> {
    FETCHER.get().map(|f| &*f.stats)
}

/// Fetches the queue in order, `SLOTS` at a time. A slot is given back
/// when the object's reader is dropped (or its open failed), so objects
/// fetched but not yet read count against the limit.
async fn drive(mut rx: mpsc::UnboundedReceiver<Job>, slots: Arc<Semaphore>, stats: Arc<Stats>) {
    while let Some(job) = rx.recv().await {
        match slots.acquire().await {
            Ok(p) => p.forget(),
            Err(_) => return,
        }
        tokio::spawn(fetch(job, stats.clone()));
    }
}

async fn fetch(job: Job, stats: Arc<Stats>) {
    stats.gets.fetch_add(1, Ordering::Relaxed);
    let r = match job.store.get(&job.key).await {
        Ok(r) => r,
        Err(e) => {
            let _ = job.tx.send(Err(describe(&e)));
            return;
        }
    };
    let mut s = r.into_stream();
    while let Some(item) = s.next().await {
        match item {
            Ok(b) => {
                match job.budget.acquire_many(cost(b.len()) as u32).await {
                    Ok(p) => p.forget(),
                    Err(_) => return, // the reader is gone
                }
                stats.bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                if job.tx.send(Ok(b)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = job.tx.send(Err(describe(&e)));
                return;
            }
        }
    }
}

/// An object_store error in a line: S3's code and message when the
/// response had them, never a request's headers.
fn describe(e: &object_store::Error) -> String {
    let text = e.to_string();
    // The last source of the chain failed: the instance role's endpoint.
    if text.contains("169.254.169.254") {
        return "no AWS credentials: none in the environment or the profile, and no \
                instance role answered (use --profile, AWS_ACCESS_KEY_ID and \
                AWS_SECRET_ACCESS_KEY, or --no-sign-request for a public bucket)"
            .into();
    }
    let tag = |t: &str| {
        let open = format!("<{t}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{t}>"))? + start;
        Some(text[start..end].to_string())
    };
    let status = match e {
        object_store::Error::NotFound { .. } => "not found",
        object_store::Error::PermissionDenied { .. } => "access denied",
        object_store::Error::Unauthenticated { .. } => "not authenticated",
        _ => "",
    };
    let detail = match (tag("Code"), tag("Message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        // A HEAD's answer has no body: the status says it all.
        _ if !status.is_empty() => return status.to_string(),
        _ => {
            let line = text.lines().next().unwrap_or_default();
            line.chars().take(300).collect()
        }
    };
    if status.is_empty() {
        detail
    } else {
        format!("{status} ({detail})")
    }
}

/// `s3://bucket/prefix` → (bucket, prefix); None for other arguments.
pub fn parse_url(arg: &str) -> Option<Result<(String, String), String>> {
    let rest = arg.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Some(Err(format!("{arg}: no bucket name (s3://BUCKET/PREFIX)")));
    }
    Some(Ok((bucket.to_string(), prefix.to_string())))
}

/// What listing one `s3://` argument found.
pub struct Listed {
    pub objects: Vec<Object>,
    /// Prefixes that could not be listed (URL, message).
    pub problems: Vec<(String, String)>,
    /// Objects left out by --since/--until (by name).
    pub pruned_objects: u64,
    /// Date folders not listed: outside --since/--until.
    pub pruned_prefixes: u64,
}

/// Lists `s3://bucket/prefix` (all of it, or with `window` the date
/// folders and files that may hold records of it) and queues the objects
/// found for fetching. A prefix naming one object reads that object.
pub fn list(arg: &str, args: &S3Config, window: Window) -> Result<Listed, String> {
    let (bucket, prefix) = parse_url(arg).expect("an s3:// argument")?;
    let f = fetcher();
    let store = client(f, &bucket, args)?;
    let stats = f.stats.clone();
    let (keys, problems, pruned) = f.rt.block_on(async {
        let mut keys = Vec::new();
        let mut problems = Vec::new();
        let mut pruned = (0, 0);
        let root = prefix.trim_end_matches('/');
        let mut walked = Walked {
            stats: &stats,
            keys: &mut keys,
            problems: &mut problems,
            pruned: &mut pruned,
        };
        walk(&store, &bucket, root, window, &mut walked).await;
        // A prefix that is a whole key (no '/' after it): that object.
        if keys.is_empty() && problems.is_empty() && !root.is_empty() && !prefix.ends_with('/') {
            match store.head(&KeyPath::from(root)).await {
                Ok(m) => keys.push(m.location),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => problems.push((arg.to_string(), describe(&e))),
            }
        }
        (keys, problems, pruned)
    });
    let mut objects = Vec::with_capacity(keys.len());
    let mut queued = f.queued.lock().map_err(|_| "poisoned".to_string())?;
    for key in keys {
        let url = format!("s3://{bucket}/{key}");
        let (tx, rx) = mpsc::unbounded_channel();
        let budget = Arc::new(Semaphore::new(BUDGET));
        // Named twice (overlapping prefixes): one fetch; the engine's
        // dedup drops the second input, which is never opened.
        if queued.insert(url.clone()) {
            let job = Job {
                store: store.clone(),
                key,
                tx,
                budget: budget.clone(),
            };
            f.queue
                .send(job)
                .map_err(|_| "the S3 fetcher stopped".to_string())?;
        }
        objects.push(Object(Arc::new(ObjectInner {
            url,
            body: Mutex::new(Some(Body { rx, budget })),
        })));
    }
    Ok(Listed {
        objects,
        problems,
        pruned_objects: pruned.0,
        pruned_prefixes: pruned.1,
    })
}

/// What `walk` gathers: keys to read, prefixes that failed, and the
/// objects and date folders the window left out (also counted in the
/// fetcher's `stats` for `FLOWSCOPE_DEBUG=s3`).
struct Walked<'a> {
    stats: &'a Stats,
    keys: &'a mut Vec<KeyPath>,
    problems: &'a mut Vec<(String, String)>,
    /// (objects, date folders).
    pruned: &'a mut (u64, u64),
}

/// Lists `prefix` into `keys`: flat (one request per 1,000 keys) when
/// the window prunes nothing below it, else folder by folder, skipping
/// the date folders outside the window.
async fn walk(
    store: &Arc<AmazonS3>,
    bucket: &str,
    prefix: &str,
    window: Window,
    w: &mut Walked<'_>,
) {
    let stats = w.stats;
    let dirs: Vec<&str> = prefix.split('/').filter(|d| !d.is_empty()).collect();
    let date = super::layout::date_prefix(&dirs);
    // Below the layout's hour folders, or outside it past any depth a
    // layout could start at, folders prune nothing more.
    let flat = window.is_open()
        || date.is_some_and(|d| d.complete())
        || (date.is_none() && dirs.len() >= 8);
    let path = (!prefix.is_empty()).then(|| KeyPath::from(prefix));
    let url = |p: &str| format!("s3://{bucket}/{p}");
    let mut keep = |key: KeyPath| {
        // Named like a log, as in a local directory (the same rule).
        if !super::layout::looks_like_log(std::path::Path::new(key.as_ref())) {
            return;
        }
        if window.wants_key(key.as_ref()) {
            w.keys.push(key);
        } else {
            stats.pruned_objects.fetch_add(1, Ordering::Relaxed);
            w.pruned.0 += 1;
        }
    };
    stats.lists.fetch_add(1, Ordering::Relaxed);
    if flat {
        let mut s = store.list(path.as_ref());
        while let Some(item) = s.next().await {
            match item {
                Ok(m) => keep(m.location),
                Err(e) => {
                    w.problems.push((url(prefix), describe(&e)));
                    return;
                }
            }
        }
        return;
    }
    let listed = match store.list_with_delimiter(path.as_ref()).await {
        Ok(l) => l,
        Err(e) => {
            w.problems.push((url(prefix), describe(&e)));
            return;
        }
    };
    for m in listed.objects {
        keep(m.location);
    }
    for sub in listed.common_prefixes {
        let sub = sub.as_ref().to_string();
        let sub_dirs: Vec<&str> = sub.split('/').filter(|d| !d.is_empty()).collect();
        if window.wants_prefix(&sub_dirs) {
            Box::pin(walk(store, bucket, &sub, window, w)).await;
        } else {
            stats.pruned_prefixes.fetch_add(1, Ordering::Relaxed);
            w.pruned.1 += 1;
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The client for `bucket`, built once: region, endpoint and credentials
/// resolved as the AWS CLI does (flags, then the environment, then the
/// profile).
fn client(f: &Fetcher, bucket: &str, args: &S3Config) -> Result<Arc<AmazonS3>, String> {
    let mut clients = f.clients.lock().map_err(|_| "poisoned".to_string())?;
    if let Some(c) = clients.get(bucket) {
        return Ok(c.clone());
    }
    let named = args.profile.clone().or_else(|| env("AWS_PROFILE"));
    let name = named.clone().unwrap_or_else(|| "default".into());
    let profile = profile::load(&name)?;
    if named.is_some() && profile.is_none() {
        return Err(format!(
            "the profile '{name}' is in neither ~/.aws/config nor ~/.aws/credentials \
             (or AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE)"
        ));
    }
    let from_profile = |k: &str| profile.as_ref().and_then(|p| p.get(k).map(str::to_string));
    let endpoint = args
        .endpoint_url
        .clone()
        .or_else(|| env("AWS_ENDPOINT_URL_S3"))
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .or_else(|| from_profile("endpoint_url"));
    let mut region = args
        .region
        .clone()
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or_else(|| from_profile("region"));
    if region.is_none() && endpoint.is_none() {
        // As the AWS CLI would need --region: ask S3 where the bucket is.
        let opts = object_store::ClientOptions::new();
        region =
            f.rt.block_on(object_store::aws::resolve_bucket_region(bucket, &opts))
                .ok();
    }
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(region.unwrap_or_else(|| "us-east-1".into()))
        // Fail in seconds, not minutes, when a store does not answer.
        .with_retry(RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            ..Default::default()
        });
    match &endpoint {
        Some(e) => {
            b = b
                .with_endpoint(e)
                .with_allow_http(e.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        // Virtual-hosted names, except for buckets whose dots would not
        // match S3's certificate.
        None => b = b.with_virtual_hosted_style_request(!bucket.contains('.')),
    }
    if args.no_sign_request {
        b = b.with_skip_signature(true);
    } else if args.profile.is_some()
        || (env("AWS_ACCESS_KEY_ID").is_none() && env("AWS_WEB_IDENTITY_TOKEN_FILE").is_none())
    {
        // An explicit --profile wins over keys in the environment (as in
        // the AWS CLI); otherwise the environment's come first, then the
        // profile, then the container and instance roles (object_store).
        match profile
            .as_ref()
            .map(|p| p.provider())
            .transpose()?
            .flatten()
        {
            Some(c) => b = b.with_credentials(c),
            None if args.profile.is_some() => {
                return Err(format!(
                    "the profile '{name}' has no credentials (aws_access_key_id, \
                     credential_process, role_arn or sso_session)"
                ))
            }
            None => {}
        }
    }
    let store = Arc::new(b.build().map_err(|e| format!("S3 settings: {e}"))?);
    clients.insert(bucket.to_string(), store.clone());
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("s3://b/AWSLogs/1/").unwrap().unwrap(),
            ("b".into(), "AWSLogs/1/".into())
        );
        assert_eq!(
            parse_url("s3://b").unwrap().unwrap(),
            ("b".into(), "".into())
        );
        assert!(parse_url("s3:///x").unwrap().is_err());
        assert!(parse_url("logs/").is_none());
    }

    #[test]
    fn errors_in_a_line() {
        let e = |s: &str| object_store::Error::Generic {
            store: "S3",
            source: s.to_string().into(),
        };
        let m = describe(&e(
            "Error performing PUT http://169.254.169.254/latest/api/token",
        ));
        assert!(
            m.starts_with("no AWS credentials") && m.contains("--profile"),
            "{m}"
        );
        let m = describe(&e("status 403: <Error><Code>InvalidObjectState</Code>\
                             <Message>archived</Message></Error>"));
        assert_eq!(m, "InvalidObjectState: archived");
        let nf = object_store::Error::NotFound {
            path: "k".into(),
            source: "404".into(),
        };
        assert_eq!(describe(&nf), "not found");
    }
}
