//! The `flowscope` binary: parse arguments, run the command, map the
//! outcome to an exit status (0 clean, 1 data errors, 2 usage or fatal,
//! 130 interrupted by Ctrl-C).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = flowscope::cli::Cli::parse();
    flowscope::engine::install_interrupt_handler();
    match flowscope::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) if e.is::<flowscope::engine::Interrupted>() => {
            eprintln!("flowscope: {e}");
            ExitCode::from(130)
        }
        Err(e) => {
            // `flowscope ... | head` is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("flowscope: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
