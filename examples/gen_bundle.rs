//! Benchmark input generator: `gen_bundle TEMPLATE.der N OUT` writes N distinct certificates as
//! PEM (`OUT` a file: one bundle; `OUT/` ending in a slash: one file per certificate). Each is
//! the template with a different serial number, so every SHA-256 differs (signatures are not
//! re-made; anchorage does not check them: a trust anchor is trusted by definition).

use anchorage::input::asn1;

fn serial_range(der: &[u8]) -> Option<(usize, usize)> {
    let (cert, _) = asn1::read(der, 0).ok()?;
    let (tbs, _) = asn1::read(cert.content, 1).ok()?;
    let mut rest = tbs.content;
    let (mut first, mut after) = asn1::read(rest, 2).ok()?;
    if first.tag == 0xa0 {
        rest = after;
        (first, after) = asn1::read(rest, 2).ok()?;
    }
    let _ = after;
    let start = first.content.as_ptr() as usize - der.as_ptr() as usize;
    Some((start, first.content.len()))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: gen_bundle TEMPLATE.der N OUT");
        std::process::exit(2);
    }
    let template = std::fs::read(&args[1]).unwrap_or_else(|e| {
        eprintln!("{}: {e}", args[1]);
        std::process::exit(66)
    });
    let n: usize = args[2].parse().unwrap_or(0);
    let (start, len) = serial_range(&template).unwrap_or_else(|| {
        eprintln!("{}: not a DER certificate", args[1]);
        std::process::exit(65)
    });
    if len < 5 {
        eprintln!("serial too short to vary");
        std::process::exit(65);
    }
    let per_file = args[3].ends_with('/');
    let mut bundle = String::new();
    if per_file {
        let _ = std::fs::create_dir_all(&args[3]);
    }
    for i in 0..n {
        let mut der = template.clone();
        let idx = (i as u32).to_be_bytes();
        der[start + len - 4..start + len].copy_from_slice(&idx);
        der[start] &= 0x7f; // keep the serial positive
        let pem = anchorage::cert::pem_encode("CERTIFICATE", &der);
        if per_file {
            let path = format!("{}ca-{i:05}.pem", args[3]);
            if let Err(e) = std::fs::write(&path, pem) {
                eprintln!("{path}: {e}");
                std::process::exit(74);
            }
        } else {
            bundle.push_str(&pem);
        }
    }
    if !per_file {
        if let Err(e) = std::fs::write(&args[3], bundle) {
            eprintln!("{}: {e}", args[3]);
            std::process::exit(74);
        }
    }
}
