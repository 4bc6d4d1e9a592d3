//! A tiny flag parser (`--name value`) and byte-size parsing (`8MiB`, `4GiB`, `100000`).

use std::collections::HashMap;

/// Flags of one sub-command: `--name value` pairs plus bare `--switch`es.
#[derive(Debug, Default)]
pub struct Flags {
    values: HashMap<String, String>,
}

impl Flags {
    /// Parses `args`; a flag followed by another flag (or nothing) is a switch with value
    /// `"true"`.
    ///
    /// # Errors
    /// A word that is not a flag.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut values = HashMap::new();
        let mut it = args.iter().peekable();
        while let Some(arg) = it.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument `{arg}`"));
            };
            let value = match it.peek() {
                Some(next) if !next.starts_with("--") => it.next().cloned().unwrap_or_default(),
                _ => "true".to_owned(),
            };
            values.insert(name.to_owned(), value);
        }
        Ok(Self { values })
    }

    /// The value of `--name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of `--name`, required.
    ///
    /// # Errors
    /// When missing.
    pub fn required(&self, name: &str) -> Result<&str, String> {
        self.get(name).ok_or_else(|| format!("missing --{name}"))
    }

    /// `--name` as a byte size, or `default`.
    ///
    /// # Errors
    /// When present but not a size.
    pub fn size_or(&self, name: &str, default: u64) -> Result<u64, String> {
        self.get(name).map_or(Ok(default), parse_size)
    }
}

/// Parses `123`, `100KiB`, `8MiB`, `4GiB`, `1TiB` with the workspace's one size parser
/// ([`oss_multipart::units::parse_size`]).
///
/// # Errors
/// When the number or the unit is not understood, or the size overflows `u64`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    oss_multipart::units::parse_size(text).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100000"), Ok(100_000));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("4g"), Ok(4 << 30));
        assert_eq!(parse_size("100KiB"), Ok(100 << 10));
        assert!(parse_size("4 parsecs").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn flags() {
        let args: Vec<String> = ["--size", "1GiB", "--quick", "--jobs", "4"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let f = Flags::parse(&args).unwrap();
        assert_eq!(f.get("jobs"), Some("4"));
        assert_eq!(f.get("quick"), Some("true"));
        assert_eq!(f.size_or("size", 0), Ok(1 << 30));
        assert_eq!(f.size_or("part-size", 7), Ok(7));
        assert!(f.required("nope").is_err());
        assert!(Flags::parse(&["stray".to_owned()]).is_err());
    }
}
