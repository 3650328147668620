//! Writes the fuzz targets' seeds (`clusterlink_kafka::fuzzing::seeds`) as a starting corpus:
//! `cargo run -p clusterlink-kafka --example fuzz_seeds -- fuzz/corpus`, then
//! `cd fuzz && cargo +nightly fuzz run record_batches` (or `response_frame`).

use clusterlink_kafka::fuzzing::seeds::{batch_seeds, response_seeds};

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or("fuzz/corpus".into()));
    let targets = [
        ("response_frame", response_seeds()),
        (
            "record_batches",
            batch_seeds().into_iter().map(|b| b.to_vec()).collect(),
        ),
    ];
    for (target, seeds) in targets {
        let out = dir.join(target);
        std::fs::create_dir_all(&out)?;
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(out.join(format!("seed-{i}")), seed)?;
        }
        println!("{}: {} seeds", out.display(), seeds.len());
    }
    Ok(())
}
