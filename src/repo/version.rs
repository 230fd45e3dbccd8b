//! Debian version ordering (Policy 5.6.12, dpkg's `verrevcmp`): what `repo prune`
//! keeps and what `repo copy` takes as the newest.

use std::cmp::Ordering;

/// `a` against `b` as `dpkg --compare-versions` orders them; both are valid versions
/// (`names::version`).
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| part(ua, ub))
        .then_with(|| part(ra, rb))
}

/// (epoch, upstream, revision): no epoch is 0, no revision is "" (which dpkg orders
/// as "0").
fn split(v: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        // Validated as digits; an epoch too large for u64 orders last.
        Some((e, r)) => (e.parse().unwrap_or(u64::MAX), r),
        None => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((u, r)) => (epoch, u, r),
        None => (epoch, rest, ""),
    }
}

/// dpkg's character weight outside digits: `~` before the end, the end before letters,
/// letters before everything else.
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// Alternating non-digit and digit runs, compared as dpkg does.
fn part(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let (wa, wb) = (weight(a.get(i).copied()), weight(b.get(j).copied()));
            if wa != wb {
                return wa.cmp(&wb);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let (si, sj) = (i, j);
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        // Leading zeros gone: the longer run is the larger number, else the first
        // differing digit decides.
        let order = (i - si)
            .cmp(&(j - sj))
            .then_with(|| a[si..i].cmp(&b[sj..j]));
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Versions where naive orderings go wrong: tildes, epochs, revisions, leading
    /// zeros, letters against the end and against punctuation.
    const TRICKY: [&str; 30] = [
        "1.0",
        "1.0~rc1",
        "1.0~~",
        "1.0~",
        "1.0+b1",
        "1.0-1",
        "1.0-1~bpo1",
        "1.0-1+b1",
        "1.0-0",
        "1:0.9",
        "0:1.0",
        "2:0",
        "1.0a",
        "1.0.0",
        "1.00",
        "1.0-1.1",
        "1.01",
        "1.10",
        "1.9",
        "10",
        "9.9.9",
        "1.0-a",
        "1.0-A",
        "1.0-+",
        "1.0-.",
        "1.0b~",
        "1.0+~",
        "1.0.~",
        "0.0.0",
        "1.0-1~",
    ];

    #[test]
    fn orders_as_dpkg_does() {
        // dpkg itself is the reference (the package tools, and apt, order by it).
        let mut checked = 0;
        for a in TRICKY {
            for b in TRICKY {
                let mine = compare(a, b);
                let op = match mine {
                    Ordering::Less => "lt",
                    Ordering::Equal => "eq",
                    Ordering::Greater => "gt",
                };
                let out = std::process::Command::new("dpkg")
                    .args(["--compare-versions", a, op, b])
                    .status()
                    .expect("dpkg is needed by this test");
                assert!(out.success(), "dpkg does not agree that {a} {op} {b}");
                checked += 1;
            }
        }
        assert_eq!(checked, TRICKY.len() * TRICKY.len());
        for v in TRICKY {
            assert!(crate::repo::names::version(v).is_ok(), "{v} is not valid");
        }
    }
}
