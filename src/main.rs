//! The `flowscope` binary: parse arguments, run the command, map the
//! outcome to an exit status (0 clean, 1 data errors, 2 usage or fatal,
//! 130 interrupted by Ctrl-C).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = flowscope::cli::Cli::parse();
    let config = match cli.into_config() {
        Ok(c) => c,
        Err(e) => {
            flowscope::error!("{e:#}");
            return ExitCode::from(2);
        }
    };
    // First, so its SIGINT action (remove a temporary output file) runs
    // before the engine's "second Ctrl-C exits" one.
    flowscope::report::install_cleanup_handlers();
    flowscope::engine::install_interrupt_handler();
    let status = flowscope::commands::RunStatus::default();
    match flowscope::run(config, &status) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        // `flowscope ... | head` is not an error, whatever the output. The flag catches EPIPE
        // however a serializer wrapped it (serde_json::Error does not
        // expose the io::Error as its source); the chain walk catches
        // writes that bypass `report::Output` (query's stream).
        // The status is the complete run's: 1 if the input had data errors.
        Err(e) if flowscope::report::broken_pipe() || is_broken_pipe(&e) => {
            ExitCode::from(status.outcome().exit_code())
        }
        Err(e) if e.is::<flowscope::engine::Interrupted>() => {
            flowscope::messages::line(format_args!("flowscope: {e}"));
            ExitCode::from(130)
        }
        // Ctrl-C while the output was being written.
        Err(_) if flowscope::engine::interrupted() => {
            flowscope::messages::line(format_args!(
                "flowscope: interrupted while writing the output"
            ));
            ExitCode::from(130)
        }
        Err(e) => {
            flowscope::error!("{e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
            || c.downcast_ref::<csv::Error>().is_some_and(
                |c| matches!(c.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe),
            )
    })
}
