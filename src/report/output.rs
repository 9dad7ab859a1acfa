//! The output target of every command: stdout, or `--output-file FILE`.
//!
//! A file is replaced atomically (written to a temporary file beside it,
//! then renamed over it) only when that is a faithful replacement: the
//! path is a regular file with one link, or nothing yet. Everything else
//! is written through, opened for writing in place: a FIFO or a process
//! substitution (`--output-file >(gzip > o.gz)`), a device (`/dev/null`,
//! `/dev/stdout`), a file with other hard links, a file in a directory we
//! may not create files in. Renaming over those would swap a regular file
//! in for the pipe, the device or the shared inode, and nothing would reach
//! the destination (as root, `--output-file /dev/stdout` once replaced the
//! system's `/dev/stdout`). A symlink to a regular file is resolved and its
//! target replaced atomically: the link stays a link. `-`, `/dev/stdout`
//! and `/dev/fd/1` are standard output itself, and a regular file reached
//! through `/dev/fd/N` is appended to, so `--output-file /dev/stdout >>
//! log` appends as the shell asked.
//!
//! The temporary file is removed on every way out: an error or a failed
//! rename (`Drop`), Ctrl-C (the engine stops, the error unwinds to `Drop`;
//! a second Ctrl-C exits at once, after the signal handler unlinks it), and
//! SIGTERM/SIGHUP (the handler unlinks it, then the default action ends the
//! process). A replaced file keeps its permissions.
//!
//! Write errors name the file (`writing out.json: No space left on
//! device`). A closed pipe (EPIPE) sets a flag `main` reads: `flowscope …
//! | head` ends quietly with status 0, however deeply a serializer wrapped
//! the error.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

/// Set when a write to the output failed with EPIPE (the reader is gone).
static BROKEN_PIPE: AtomicBool = AtomicBool::new(false);

/// True once a write hit a closed pipe; `main` then exits 0 quietly.
pub fn broken_pipe() -> bool {
    BROKEN_PIPE.load(Ordering::Relaxed)
}

/// Output buffer size (bytes): large outputs go out in few system calls.
const BUFFER_BYTES: usize = 256 * 1024;

enum Sink {
    /// Not a lock: an `Output` can be shared by worker threads (query).
    Stdout(io::BufWriter<io::Stdout>),
    File {
        writer: io::BufWriter<File>,
        path: PathBuf,
        /// The temporary file to rename over `path`; None: written through.
        temp: Option<PathBuf>,
    },
}

/// Writes to stdout or to a file (see the module docs).
pub struct Output {
    sink: Sink,
}

impl Output {
    /// Opens the target up front, so a bad path fails before any work.
    pub fn open(path: Option<&Path>) -> Result<Output> {
        let sink = match path {
            None => Sink::Stdout(io::BufWriter::with_capacity(BUFFER_BYTES, io::stdout())),
            Some(p) => open_file(p)?,
        };
        Ok(Output { sink })
    }

    /// True when writing to a terminal (for colour and table width).
    pub fn is_terminal(&self) -> bool {
        matches!(self.sink, Sink::Stdout(_)) && io::stdout().is_terminal()
    }

    /// Flushes and, for an atomic replacement, renames the file into place.
    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        if crate::interrupt::interrupted() {
            // Drop removes the temporary file; the target is untouched.
            return Err(crate::interrupt::Interrupted("while writing the output".into()).into());
        }
        if let Sink::File { path, temp, .. } = &mut self.sink {
            if let Some(tmp) = temp {
                // Renamed while still open (fine on Unix); closed on drop.
                if let Err(e) = fs::rename(&*tmp, &*path) {
                    if crate::interrupt::interrupted() {
                        return Err(crate::interrupt::Interrupted(
                            "while writing the output".into(),
                        )
                        .into());
                    }
                    return Err(e).with_context(|| format!("cannot replace {}", path.display()));
                }
                *temp = None;
                signals::forget_temp();
            }
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Sink::File {
            temp: Some(tmp), ..
        } = &self.sink
        {
            let _ = fs::remove_file(tmp);
            signals::forget_temp();
        }
    }
}

impl Output {
    /// The error of a failed write, with the file's name, and EPIPE noted.
    #[cold]
    fn annotate(&self, e: io::Error) -> io::Error {
        if e.kind() == io::ErrorKind::BrokenPipe {
            BROKEN_PIPE.store(true, Ordering::Relaxed);
            return e;
        }
        match &self.sink {
            Sink::Stdout(_) => io::Error::new(e.kind(), format!("writing standard output: {e}")),
            Sink::File { path, .. } => {
                io::Error::new(e.kind(), format!("writing {}: {e}", path.display()))
            }
        }
    }

    /// Writes a whole block (a worker's rendered chunk) straight to the
    /// file or stdout, after what is buffered: no copy into the buffer.
    pub fn write_block(&mut self, buf: &[u8]) -> io::Result<()> {
        self.check_interrupt()?;
        let r = match &mut self.sink {
            Sink::Stdout(w) => w.flush().and_then(|_| w.get_mut().write_all(buf)),
            Sink::File { writer, .. } => {
                writer.flush().and_then(|_| writer.get_mut().write_all(buf))
            }
        };
        r.map_err(|e| self.annotate(e))
    }

    fn check_interrupt(&self) -> io::Result<()> {
        if crate::interrupt::interrupted() {
            // Not ErrorKind::Interrupted: write_all retries on that.
            return Err(io::Error::other("interrupted"));
        }
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check_interrupt()?;
        let r = match &mut self.sink {
            Sink::Stdout(w) => w.write(buf),
            Sink::File { writer, .. } => writer.write(buf),
        };
        r.map_err(|e| self.annotate(e))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.check_interrupt()?;
        let r = match &mut self.sink {
            Sink::Stdout(w) => w.write_all(buf),
            Sink::File { writer, .. } => writer.write_all(buf),
        };
        r.map_err(|e| self.annotate(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = match &mut self.sink {
            Sink::Stdout(w) => w.flush(),
            Sink::File { writer, .. } => writer.flush(),
        };
        r.map_err(|e| self.annotate(e))
    }
}

/// Checks an `--output-file` value when the arguments are parsed, before
/// any work: a directory, or a file in a directory that does not exist,
/// is refused at once.
pub fn parse_output_path(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if s.is_empty() {
        return Err("the file name is empty".into());
    }
    if p.is_dir() {
        return Err(format!("{s} is a directory; give a file name"));
    }
    if s.ends_with('/') {
        return Err(format!("{s} names a directory; give a file name"));
    }
    let dir = parent_dir(&p);
    if !dir.is_dir() {
        return Err(format!("directory {} does not exist", dir.display()));
    }
    Ok(p)
}

fn parent_dir(p: &Path) -> &Path {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// How a path is to be written.
enum Plan {
    /// Temporary file in the same directory, renamed over `target`;
    /// `mode`: the existing file's permissions, kept.
    Atomic {
        target: PathBuf,
        mode: Option<fs::Permissions>,
    },
    /// Opened in place; `truncate` only for regular files.
    Through { truncate: bool },
    /// A regular file reached through a descriptor (`/dev/fd/N`,
    /// `/proc/self/fd/N`): opened to append, so a shell's `N>>log` is
    /// appended to, never truncated or overwritten from its start.
    Append,
    /// `-`, `/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`: standard output
    /// itself (its descriptor keeps the shell's `>>`).
    Stdout,
}

/// True when following `p`'s links passes through /dev or /proc: the
/// name stands for an open descriptor, not a file to replace.
fn names_a_descriptor(p: &Path) -> bool {
    let mut cur = p.to_path_buf();
    for _ in 0..40 {
        // Resolve the directory part, so `../dev/stdout` and /dev/fd
        // (itself a link to /proc/self/fd) are seen for what they are.
        let dir = parent_dir(&cur);
        let real = match (fs::canonicalize(dir), cur.file_name()) {
            (Ok(d), Some(n)) => d.join(n),
            _ => return false,
        };
        if real.starts_with("/proc") || real.starts_with("/dev") {
            return true;
        }
        match fs::read_link(&real) {
            Ok(t) => cur = parent_dir(&real).join(t),
            Err(_) => return false,
        }
    }
    false
}

fn plan(p: &Path) -> Result<Plan> {
    if matches!(
        p.to_str(),
        Some("-" | "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1")
    ) {
        return Ok(Plan::Stdout);
    }
    let link = match fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Plan::Atomic {
                target: p.to_path_buf(),
                mode: None,
            })
        }
        Err(e) => return Err(e).with_context(|| format!("cannot use {}", p.display())),
    };
    if link.is_dir() {
        anyhow::bail!("{} is a directory; give a file name", p.display());
    }
    if link.file_type().is_symlink() {
        // Follow the link; a dangling one is created through.
        let Ok(meta) = fs::metadata(p) else {
            return Ok(Plan::Through { truncate: true });
        };
        if meta.is_dir() {
            anyhow::bail!("{} is a directory; give a file name", p.display());
        }
        if !meta.is_file() {
            return Ok(Plan::Through { truncate: false });
        }
        // /dev/fd/N and /proc/self/fd/N name whatever the descriptor is
        // open on: never replaced.
        if names_a_descriptor(p) {
            return Ok(Plan::Append);
        }
        return Ok(match fs::canonicalize(p) {
            Ok(c) if single_link(&meta) => Plan::Atomic {
                target: c,
                mode: Some(meta.permissions()),
            },
            _ => Plan::Through { truncate: true },
        });
    }
    if link.is_file() && single_link(&link) {
        return Ok(Plan::Atomic {
            target: p.to_path_buf(),
            mode: Some(link.permissions()),
        });
    }
    Ok(Plan::Through {
        truncate: link.is_file(),
    })
}

#[cfg(unix)]
fn single_link(m: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    m.nlink() <= 1
}

#[cfg(not(unix))]
fn single_link(_: &fs::Metadata) -> bool {
    true
}

fn open_file(p: &Path) -> Result<Sink> {
    let open = |o: &mut OpenOptions| -> Result<Sink> {
        // Blocks until a reader opens a FIFO, as a shell redirection does.
        let f = o
            .open(p)
            .with_context(|| format!("cannot open {} for writing", p.display()))?;
        Ok(Sink::File {
            writer: io::BufWriter::with_capacity(BUFFER_BYTES, f),
            path: p.to_path_buf(),
            temp: None,
        })
    };
    let through = |truncate: bool| {
        open(
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(truncate),
        )
    };
    match plan(p)? {
        Plan::Stdout => Ok(Sink::Stdout(io::BufWriter::with_capacity(
            BUFFER_BYTES,
            io::stdout(),
        ))),
        Plan::Append => open(OpenOptions::new().append(true)),
        Plan::Through { truncate } => through(truncate),
        Plan::Atomic { target, mode } => {
            let (tmp, f) = match create_temp(&target) {
                Ok(t) => t,
                // A writable file in a directory we may not add files to:
                // write it in place rather than fail.
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied && mode.is_some() => {
                    return through(true);
                }
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("cannot create a file beside {}", target.display())
                    })
                }
            };
            if let Some(m) = mode {
                // Keep the replaced file's permissions.
                let _ = f.set_permissions(m);
            }
            Ok(Sink::File {
                writer: io::BufWriter::with_capacity(BUFFER_BYTES, f),
                path: target,
                temp: Some(tmp),
            })
        }
    }
}

/// A new file `.NAME.flowscope-tmp-PID-N` beside `target`, created
/// exclusively (never through an existing file or link), and remembered
/// for the signal handlers to remove.
fn create_temp(target: &Path) -> io::Result<(PathBuf, File)> {
    let dir = parent_dir(target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pid = std::process::id();
    let mut n = 0u32;
    loop {
        let tmp = dir.join(format!(".{name}.flowscope-tmp-{pid}-{n}"));
        // Remembered before it exists: a signal between creating the file
        // and remembering it would leave it behind (seen once in
        // tests/output.rs under load). A name already taken is one of
        // ours (it carries our pid), so a handler unlinking it is no loss.
        signals::remember_temp(&tmp);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => {
                signals::forget_temp();
                return Err(e);
            }
        }
    }
}

/// Removal of the temporary file when a signal ends the process.
mod signals {
    use std::path::Path;

    #[cfg(unix)]
    mod imp {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        use std::path::Path;
        use std::sync::atomic::{AtomicPtr, Ordering};

        /// The temporary file's path as a C string, or null. Leaked on
        /// purpose: a handler may be reading it at any moment, so it is
        /// never freed (one short string per run).
        static TEMP: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

        pub fn remember(p: &Path) {
            if let Ok(c) = CString::new(p.as_os_str().as_bytes()) {
                TEMP.store(c.into_raw(), Ordering::SeqCst);
            }
        }

        pub fn forget() {
            TEMP.store(std::ptr::null_mut(), Ordering::SeqCst);
        }

        /// Async-signal-safe: an atomic load and unlink(2).
        fn unlink_temp() {
            let p = TEMP.swap(std::ptr::null_mut(), Ordering::SeqCst);
            if !p.is_null() {
                // SAFETY: `p` came from CString::into_raw and is never freed.
                unsafe {
                    libc::unlink(p);
                }
            }
        }

        pub fn install() {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            // SAFETY: the actions only do async-signal-safe work (atomics,
            // unlink, and signal-hook's default-action emulation).
            unsafe {
                // Ctrl-C: the engine's flag makes the run stop and unwind
                // (Drop removes the file); a second Ctrl-C exits at once,
                // so unlink here first (registered before the engine's
                // handlers, so it runs before them).
                let _ = signal_hook::low_level::register(SIGINT, unlink_temp);
                for sig in [SIGTERM, SIGHUP] {
                    let _ = signal_hook::low_level::register(sig, move || {
                        unlink_temp();
                        let _ = signal_hook::low_level::emulate_default_handler(sig);
                    });
                }
            }
        }
    }

    #[cfg(not(unix))]
    mod imp {
        pub fn remember(_: &std::path::Path) {}
        pub fn forget() {}
        pub fn install() {}
    }

    pub fn remember_temp(p: &Path) {
        imp::remember(p)
    }

    pub fn forget_temp() {
        imp::forget()
    }

    pub fn install() {
        imp::install()
    }
}

/// Installs the handlers that remove a temporary output file when SIGINT,
/// SIGTERM or SIGHUP ends the process. Call before
/// `engine::install_interrupt_handler` (handlers run in registration order).
pub fn install_cleanup_handlers() {
    signals::install()
}
