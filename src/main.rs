use std::process::ExitCode;

fn main() -> ExitCode {
    match sdrate::cli::run() {
        Ok(code) => code,
        Err(err) => {
            // The full chain, so an operator sees the file and the cause.
            eprintln!("sdrate: error: {err:#}");
            ExitCode::from(sdrate::exit::code_for(&err))
        }
    }
}
