//! The `hoheit` binary: everything it does is in [`hoheit_server::cli`].

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    Box::pin(hoheit_server::cli::run()).await
}
