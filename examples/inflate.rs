//! Decompression alone, through the same code paths as the product (small
//! gzip files inflated whole, else streamed: `flowscope::flowlog::open::
//! Opener`), for `benches/compare.sh`:
//! it measures what inflate costs without parsing or aggregation.
//!
//! Usage: `inflate [-j N] FILE_OR_DIR...` — prints the decompressed byte
//! count. With `-j N` (default 1) files are spread over N threads.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use flowscope::flowlog::open::{Opened, Opener};
use flowscope::flowlog::reader::Source;
use flowscope::source::input::expand_inputs;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = 1usize;
    if args.first().map(String::as_str) == Some("-j") && args.len() >= 2 {
        threads = args[1].parse().expect("-j N");
        args.drain(..2);
    }
    if args.is_empty() {
        eprintln!("usage: inflate [-j N] FILE_OR_DIR...");
        std::process::exit(2);
    }
    let paths: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    let (inputs, problems) = expand_inputs(&paths);
    for p in problems {
        eprintln!("{p}");
    }
    let next = AtomicUsize::new(0);
    let total = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let mut buf = vec![0u8; 1 << 20];
                let (mut opener, mut pool) = (Opener::default(), Vec::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else { break };
                    let opened = match opener.open(input, &mut pool).expect("open") {
                        Opened::Text(t) => t,
                        // Not text: nothing to inflate.
                        #[allow(unreachable_patterns)]
                        _ => continue,
                    };
                    let mut stream = match opened.source {
                        Source::Whole(out) => {
                            total.fetch_add(out.len() as u64, Ordering::Relaxed);
                            // Its memory is the next file's output buffer.
                            pool = vec![out.into()];
                            continue;
                        }
                        Source::Stream(s) => s,
                    };
                    let mut n = 0u64;
                    loop {
                        match stream.read(&mut buf) {
                            Ok(0) => break,
                            Ok(k) => n += k as u64,
                            Err(e) => panic!("{}: {e}", input.display()),
                        }
                    }
                    total.fetch_add(n, Ordering::Relaxed);
                }
            });
        }
    });
    println!("{}", total.load(Ordering::Relaxed));
}
