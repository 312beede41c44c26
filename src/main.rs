//! The `natter` binary: reads its flags, sets up logging, and runs the server
//! (`natter::server::run`), or an operator's command (`natter admin …`). The browser build has no binary.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> Result<(), natter::server::Error> {
    use clap::Parser;
    let config = natter::server::config::Config::parse();
    if let Some(natter::server::config::Command::Admin(admin)) = &config.command {
        return match admin.run(&config.database).await {
            Ok(done) => {
                println!("{done}");
                Ok(())
            }
            Err(why) => {
                eprintln!("natter admin: {why}");
                std::process::exit(1);
            }
        };
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log))
        .init();
    natter::server::run(config).await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build has no binary; its entry point is `natter::hydrate`.
}
