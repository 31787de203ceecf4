//! `markdown [--panic]`: Markdown on stdin, HTML on stdout; with
//! `--panic`, a panic after the HTML, so its message lands on stderr.

use std::io::{self, Read, Write};

use pulldown_cmark::{html, Options, Parser};

fn main() -> io::Result<()> {
    let mut source = String::new();
    io::stdin().read_to_string(&mut source)?;
    let mut page = String::new();
    html::push_html(&mut page, Parser::new_ext(&source, Options::all()));
    io::stdout().write_all(page.as_bytes())?;
    io::stdout().flush()?;
    if std::env::args().any(|arg| arg == "--panic") {
        panic!("asked to panic after {} bytes of HTML", page.len());
    }
    Ok(())
}
