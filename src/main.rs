use std::process::ExitCode;

// Decoding allocates a few small strings per record; mimalloc's per-thread
// heaps make that markedly cheaper than the system allocator under rayon.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
