//! Fuzz target: any UTF-8 text through parse + resolve + render. Checks
//! that nothing panics, that diagnostics point inside the text, and that
//! every query that parses prints to text that parses to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let catalog = query::builtin();
    match query::parse(src) {
        Ok(ast) => {
            let printed = ast.to_string();
            let again = query::parse(&printed).expect("printed query parses");
            assert_eq!(again.without_spans(), ast.without_spans(), "round trip of {src:?}");
            if let Err(e) = query::resolve(&ast, catalog) {
                let _ = e.render(src);
            }
        }
        Err(d) => {
            assert!(d.span.end as usize <= src.chars().count());
            let _ = d.render(src);
        }
    }
});
