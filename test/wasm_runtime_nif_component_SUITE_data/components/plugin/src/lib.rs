//! A plugin as a host would embed it: it calls what the host imports and
//! uses WASI preview 2 through Rust's std.

wit_bindgen::generate!({ world: "plugin", path: "wit" });

use test::plugin::host::{self, Level};

struct Plugin;

impl Guest for Plugin {
    fn total(keys: Vec<String>) -> i64 {
        let mut total = 0i64;
        for key in keys {
            match host::lookup(&key) {
                Some(entry) => {
                    host::log(Level::Info, &format!("{} = {}", entry.key, entry.value));
                    total = total.wrapping_add(entry.value);
                }
                None => host::log(Level::Warning, &format!("no {key}")),
            }
        }
        total
    }

    fn stamp() -> u64 {
        now()
    }

    fn print(message: String) {
        use std::io::Write;
        let mut out = std::io::stdout();
        out.write_all(message.as_bytes()).unwrap();
        out.flush().unwrap();
        eprint!("logged {} bytes", message.len());
    }

    fn arguments() -> Vec<String> {
        std::env::args().collect()
    }

    fn variables() -> Vec<(String, String)> {
        std::env::vars().collect()
    }

    fn write_file(path: String, data: Vec<u8>) -> Result<u64, String> {
        std::fs::write(&path, &data)
            .map(|()| data.len() as u64)
            .map_err(|e| e.to_string())
    }

    fn read_file(path: String) -> Result<Vec<u8>, String> {
        std::fs::read(&path).map_err(|e| e.to_string())
    }

    fn read_stdin() -> Vec<u8> {
        use std::io::Read;
        let mut all = Vec::new();
        std::io::stdin().read_to_end(&mut all).unwrap();
        all
    }

    fn poll_clocks(n: u32) -> u32 {
        use wasip2::clocks::monotonic_clock::subscribe_duration;
        let clocks: Vec<_> = (0..n).map(|_| subscribe_duration(0)).collect();
        let pollables: Vec<_> = clocks.iter().collect();
        wasip2::io::poll::poll(&pollables).len() as u32
    }
}

export!(Plugin);
