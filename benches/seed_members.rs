//! xz on the seed package's two members, inside one process (issue 14): the part of a
//! seed build that no change elsewhere in unitpack can remove, timed without a process
//! start-up around it. benches/deb-build.sh --case seed runs it beside the floor
//! (`unitpack --version`) and reports the ratio.
//!
//! Usage: cargo bench --bench seed_members -- CONTROL.tar CONTROL.tar.xz DATA.tar DATA.tar.xz [ROUNDS]
//! Each tar is compressed with unitpack's own writer (`unitpack::archive::compress`) and
//! must give the package's member byte for byte, so the work timed is the build's. The
//! first round pays for the encoders' memory as a build does; the later rounds reuse
//! it, so their median is a lower bound.
use std::time::{Duration, Instant};
use unitpack::profile::Compression;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.len() < 4 {
        eprintln!("usage: seed_members CONTROL.tar CONTROL.tar.xz DATA.tar DATA.tar.xz [ROUNDS]");
        std::process::exit(2);
    }
    let read = |p: &str| std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    let members: Vec<(Vec<u8>, Vec<u8>)> = args[..4]
        .chunks(2)
        .map(|pair| (read(&pair[0]), read(&pair[1])))
        .collect();
    let rounds: usize = args.get(4).map_or(500, |r| r.parse().expect("ROUNDS"));
    let mut times: Vec<Duration> = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        for (tar, member) in &members {
            let z = unitpack::archive::compress(tar, Compression::Xz, 1).expect("compressing");
            assert!(
                z == *member,
                "unitpack's writer does not reproduce the member"
            );
        }
        times.push(start.elapsed());
    }
    let first = times[0];
    let mut rest = times[1..].to_vec();
    rest.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "first {:.3} ms; median of the next {} {:.3} ms; min {:.3} ms",
        ms(first),
        rest.len(),
        ms(rest[rest.len() / 2]),
        ms(rest[0])
    );
}
