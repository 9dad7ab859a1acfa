//! One moto server (PyPI `moto[server]`, S3 and EC2 alike) on 127.0.0.1 for
//! the tests that need AWS: tests/s3.rs reads logs from its S3, and
//! tests/recommend_apply.rs applies `recommend -o cli` scripts to its EC2.
//! Started once per test binary; without moto_server and the AWS CLI the
//! tests skip, unless `CI` is set (`.ci/run` installs both).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::util::repo;

pub struct Moto {
    pub endpoint: String,
    /// Settings files and objects made for the tests.
    pub dir: tempfile::TempDir,
    /// Keeps the server's stdin open: it stops when the tests exit.
    _guard: Mutex<Child>,
}

pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The server; None (test skipped) when moto or the AWS CLI is not
/// installed and CI is not set.
pub fn moto() -> Option<&'static Moto> {
    static S: OnceLock<Option<Moto>> = OnceLock::new();
    S.get_or_init(|| {
        if !have("moto_server") || !have("aws") {
            assert!(
                std::env::var_os("CI").is_none(),
                "moto_server or aws is not installed and CI is set: \
                 python3 -m pip install --user 'moto[server]' awscli"
            );
            eprintln!(
                "skipped: moto_server or aws not installed (pip install 'moto[server]' awscli)"
            );
            return None;
        }
        Some(start())
    })
    .as_ref()
}

fn start() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The shell waits on its stdin, which closes when this process ends
    // however it ends, then stops the server.
    let mut guard = Command::new("sh")
        .args([
            "-c",
            &format!(
                "moto_server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; \
                 echo started; read _; kill $pid"
            ),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start moto_server");
    let mut line = String::new();
    BufReader::new(guard.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "moto_server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        dir: tempfile::tempdir().unwrap(),
        _guard: Mutex::new(guard),
    }
}

impl Moto {
    /// A command with a clean AWS environment: test keys, no profile of
    /// the user's, the server as endpoint, in the repository.
    pub fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new(program);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("AWS_") {
                c.env_remove(k);
            }
        }
        c.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_CONFIG_FILE", self.dir.path().join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.dir.path().join("none"))
            .env_remove("FLOWSCOPE_DEBUG")
            .current_dir(repo());
        c
    }
}
