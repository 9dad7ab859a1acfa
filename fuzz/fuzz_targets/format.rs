//! Format strings (`--format`) and header lines: never panic; a parsed
//! format survives its own header.
#![no_main]

use flowscope::flowlog::{Format, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(f) = Format::parse(s) {
            let again = Format::parse(&f.header()).expect("a format's header parses");
            assert_eq!(again, f);
            let _ = Parser::new(&f);
            let _ = f.version();
        }
    }
    if let Some(f) = Format::from_header_line(data) {
        assert!(!f.is_empty());
        let _ = Parser::new(&f).parse(data);
    }
});
