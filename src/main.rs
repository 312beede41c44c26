//! The `natter` binary: reads its flags, sets up logging, and runs the server
//! (`natter::server::run`), or an operator's command (`natter admin …`). The browser build has no binary.

/// mimalloc rather than glibc's malloc, whose freeing and merging of chunks across the
/// runtime's threads (`_int_free`, `malloc_consolidate`, `unlink_chunk`) was about 6 % of
/// the server's CPU. natter-bench, release, alternating runs, 2026-12-05: 10,000 joins in
/// 1.03–1.11 s against 1.60–1.64 s (148–162 µs of server CPU per arrival against 229–231);
/// fan-out at 1,000,000/s 1.03–1.06 µs per delivery against 1.05–1.13, p50 4.0–4.3 ms
/// against 4.4–4.8; history p99 0.72 against 1.14 ms. The cost is memory: 16 MiB more at
/// start, and 6.9 KiB per idle connection against 6.2 (19,000 connections).
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
