//! A deployment's secrets, shared by the stores of one test: replicas that apply the same
//! commands hold byte-identical records only when they seal under the same contact keys and
//! hash under the same suppression key (ARCHITECTURE.md, "Commands").

/// 4,096 contact keys (the first block the store would make) and a suppression key.
pub struct Secrets {
    contact_keys: Vec<u8>,
    suppression_key: String,
}

impl Secrets {
    pub fn new() -> Secrets {
        Secrets {
            contact_keys: (0..4096 * 32).map(|_| rand::random::<u8>()).collect(),
            suppression_key: (0..32)
                .map(|_| format!("{:02x}", rand::random::<u8>()))
                .collect::<String>()
                + "\n",
        }
    }

    /// A new data directory holding these secrets, for `Store::open`.
    pub fn data_dir(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        self.write_to(dir.path());
        dir
    }

    /// Puts these secrets in `dir` (made if missing), as a new data directory's.
    pub fn write_to(&self, dir: &std::path::Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("contact.keys"), &self.contact_keys).unwrap();
        std::fs::write(dir.join("suppression.key"), &self.suppression_key).unwrap();
    }
}

impl Default for Secrets {
    fn default() -> Secrets {
        Secrets::new()
    }
}
