//! AWS profiles from the shared `config` and `credentials` files, as the
//! AWS CLI reads them, turned into an object_store credential provider.
//!
//! object_store has no profile support of its own; the AWS SDK's
//! `aws-config` has, at several times the build cost (see Cargo.toml).
//! What a profile can give here: static keys (`aws_access_key_id`,
//! `aws_secret_access_key`, `aws_session_token`), a `credential_process`,
//! and its `region` and `endpoint_url`. A profile that needs an AWS
//! service to make credentials (`role_arn`, `sso_session`,
//! `sso_start_url`, `login_session`) is handed to the AWS CLI v2 as a
//! credential process: `aws configure export-credentials --profile NAME
//! --format process` (the CLI then does SSO and assume-role itself,
//! with its cache). Secrets read here are never printed: errors name the
//! file, profile and key, never a value.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::aws::AwsCredential;
use object_store::CredentialProvider;

/// One profile's settings: the credentials file's over the config file's.
#[derive(Clone, Default)]
pub struct Profile {
    pub name: String,
    values: HashMap<String, String>,
}

// Never shows values: they may be secrets.
impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<&String> = self.values.keys().collect();
        keys.sort();
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("keys", &keys)
            .finish()
    }
}

/// Where a profile's credentials come from.
#[derive(Debug)]
pub enum Source {
    Static,
    Process(String),
    /// Needs the AWS CLI (assume-role, SSO).
    AwsCli,
    None,
}

impl Profile {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn source(&self) -> Source {
        if self.get("aws_access_key_id").is_some() {
            Source::Static
        } else if let Some(cmd) = self.get("credential_process") {
            Source::Process(cmd.to_string())
        } else if ["role_arn", "sso_session", "sso_start_url", "login_session"]
            .iter()
            .any(|k| self.get(k).is_some())
        {
            Source::AwsCli
        } else {
            Source::None
        }
    }

    /// The provider for this profile's credentials; None when it has none.
    pub fn provider(&self) -> Result<Option<super::Credentials>, String> {
        let name = &self.name;
        let provider: super::Credentials = match self.source() {
            Source::Static => {
                let secret = self.get("aws_secret_access_key").ok_or_else(|| {
                    format!("profile '{name}' has aws_access_key_id but no aws_secret_access_key")
                })?;
                let cred = AwsCredential {
                    key_id: self
                        .get("aws_access_key_id")
                        .unwrap_or_default()
                        .to_string(),
                    secret_key: secret.to_string(),
                    token: self.get("aws_session_token").map(str::to_string),
                };
                Arc::new(object_store::StaticCredentialProvider::new(cred))
            }
            Source::Process(cmd) => Arc::new(ProcessProvider::new(
                format!("credential_process of profile '{name}'"),
                cmd,
            )),
            Source::AwsCli => Arc::new(ProcessProvider::new(
                format!(
                    "profile '{name}' (role or SSO) through the AWS CLI v2 \
                     (`aws configure export-credentials`)"
                ),
                format!(
                    "aws configure export-credentials --profile {} --format process",
                    shell_quote(name)
                ),
            )),
            Source::None => return Ok(None),
        };
        Ok(Some(provider))
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn home_file(env: &str, rel: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    Some(PathBuf::from(home).join(".aws").join(rel))
}

/// Reads profile `name` from the config and credentials files. None when
/// neither file has it.
pub fn load(name: &str) -> Result<Option<Profile>, String> {
    let mut values = HashMap::new();
    let mut found = false;
    // Config first: the credentials file's keys win.
    for (env, rel, config) in [
        ("AWS_CONFIG_FILE", "config", true),
        ("AWS_SHARED_CREDENTIALS_FILE", "credentials", false),
    ] {
        let Some(path) = home_file(env, rel) else {
            continue;
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        if let Some(section) = parse_ini(&text, config).remove(name) {
            found = true;
            values.extend(section);
        }
    }
    Ok(found.then(|| Profile {
        name: name.to_string(),
        values,
    }))
}

/// The profiles of one file: `[name]` sections (`[profile name]` in the
/// config file, where `[default]` keeps its bare name). Other sections of
/// the config file (`[sso-session …]`, `[services …]`) and nested
/// settings (indented lines under `s3 =`) are left out.
pub fn parse_ini(text: &str, config: bool) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let inner = inner.trim();
            current = if !config || inner == "default" {
                Some(inner.to_string())
            } else {
                inner
                    .strip_prefix("profile")
                    .filter(|r| r.starts_with([' ', '\t']))
                    .map(|r| r.trim().to_string())
            };
            continue;
        }
        // A nested setting: belongs to the key above it.
        if raw.starts_with([' ', '\t']) {
            continue;
        }
        let (Some(name), Some((k, v))) = (&current, line.split_once('=')) else {
            continue;
        };
        out.entry(name.clone())
            .or_default()
            .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    out
}

/// Credentials from a command that prints the AWS CLI's `credential_process`
/// JSON, cached until five minutes before they expire.
pub struct ProcessProvider {
    what: String,
    command: String,
    cache: tokio::sync::Mutex<Option<(Arc<AwsCredential>, Option<u64>)>>,
}

// The command may hold secrets of its own: not shown.
impl std::fmt::Debug for ProcessProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessProvider")
            .field("what", &self.what)
            .finish()
    }
}

impl ProcessProvider {
    pub fn new(what: String, command: String) -> Self {
        ProcessProvider {
            what,
            command,
            cache: tokio::sync::Mutex::new(None),
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// Runs the command and reads its JSON; the error never holds its output.
pub fn run_process(what: &str, command: &str) -> Result<(AwsCredential, Option<u64>), String> {
    #[cfg(unix)]
    let mut cmd = {
        let mut c = std::process::Command::new("sh");
        c.arg("-c").arg(command);
        c
    };
    #[cfg(not(unix))]
    let mut cmd = {
        let mut c = std::process::Command::new("cmd");
        c.arg("/C").arg(command);
        c
    };
    // Its stderr is the user's: prompts and errors of the command show.
    let out = cmd
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("{what}: cannot run it: {e}"))?;
    if !out.status.success() {
        return Err(format!("{what}: the command failed ({})", out.status));
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Json {
        version: u32,
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
        expiration: Option<String>,
    }
    let j: Json = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "{what}: its output is not the JSON credentials expected \
             (Version 1, AccessKeyId, SecretAccessKey): {} at line {} column {}",
            match e.classify() {
                serde_json::error::Category::Data => "missing or mistyped field",
                _ => "not JSON",
            },
            e.line(),
            e.column()
        )
    })?;
    if j.version != 1 {
        return Err(format!("{what}: Version {} (1 expected)", j.version));
    }
    let expires = match j.expiration {
        Some(e) => Some(
            crate::time::parse_rfc3339(without_fraction(&e).trim())
                .ok_or_else(|| format!("{what}: Expiration is not an RFC 3339 time"))?,
        ),
        None => None,
    };
    Ok((
        AwsCredential {
            key_id: j.access_key_id,
            secret_key: j.secret_access_key,
            token: j.session_token.filter(|t| !t.is_empty()),
        },
        expires,
    ))
}

/// `2030-01-01T00:00:00.000Z` → `2030-01-01T00:00:00Z`: the seconds'
/// fraction, which `parse_time` does not take, dropped.
fn without_fraction(t: &str) -> String {
    match t.find('.') {
        Some(dot) => {
            let rest = &t[dot + 1..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            format!("{}{}", &t[..dot], &rest[digits..])
        }
        None => t.to_string(),
    }
}

impl CredentialProvider for ProcessProvider {
    type Credential = AwsCredential;

    fn get_credential<'a, 'b>(
        &'a self,
    ) -> Pin<Box<dyn Future<Output = object_store::Result<Arc<AwsCredential>>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move {
            let mut cache = self.cache.lock().await;
            if let Some((c, exp)) = cache.as_ref() {
                if exp.is_none_or(|e| now() + 300 < e) {
                    return Ok(c.clone());
                }
            }
            let (what, command) = (self.what.clone(), self.command.clone());
            let got = tokio::task::spawn_blocking(move || run_process(&what, &command))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r)
                .map_err(|msg| object_store::Error::Generic {
                    store: "S3",
                    source: msg.into(),
                })?;
            let cred = Arc::new(got.0);
            *cache = Some((cred.clone(), got.1));
            Ok(cred)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections_of_both_files() {
        let config = "[default]\nregion = us-east-1\n[profile dev]\nregion=eu-west-1\n\
                      s3 =\n  endpoint_url = http://x\n[sso-session corp]\nsso_region = x\n\
                      [profilex]\nregion = no\n";
        let p = parse_ini(config, true);
        assert_eq!(p["default"]["region"], "us-east-1");
        assert_eq!(p["dev"]["region"], "eu-west-1");
        assert!(!p["dev"].contains_key("endpoint_url"));
        assert_eq!(p.len(), 2, "{:?}", p.keys().collect::<Vec<_>>());
        let creds = "# c\n[dev]\naws_access_key_id = AKID\n; x\naws_secret_access_key = s=e\n";
        let c = parse_ini(creds, false);
        assert_eq!(c["dev"]["aws_secret_access_key"], "s=e");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let mut values = HashMap::new();
        values.insert("aws_secret_access_key".into(), "SECRET123".into());
        let p = Profile {
            name: "p".into(),
            values,
        };
        assert!(!format!("{p:?}").contains("SECRET123"));
        let pp = ProcessProvider::new("w".into(), "echo SECRET123".into());
        assert!(!format!("{pp:?}").contains("SECRET123"));
    }

    #[cfg(unix)]
    #[test]
    fn credential_process_json_and_errors() {
        let ok = r#"printf '{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK","SessionToken":"T","Expiration":"2030-01-01T00:00:00.000Z"}'"#;
        let (c, exp) = run_process("p", ok).unwrap();
        assert_eq!((c.key_id.as_str(), c.token.as_deref()), ("AK", Some("T")));
        assert_eq!(exp, Some(1_893_456_000));
        assert_eq!(
            without_fraction("2030-01-01T00:00:00.5+02:00"),
            "2030-01-01T00:00:00+02:00"
        );
        let e = run_process("p", "printf '{\"Version\":1,\"AccessKeyId\":\"AK\"}'").unwrap_err();
        assert!(e.contains("not the JSON credentials"), "{e}");
        let e = run_process("p", "printf 'SECRETLEAK'; exit 3").unwrap_err();
        assert!(e.contains("failed") && !e.contains("SECRETLEAK"), "{e}");
        let e = run_process("p", "printf 'SECRETLEAK'").unwrap_err();
        assert!(!e.contains("SECRETLEAK"), "{e}");
    }
}
