//! Private PostgreSQL clusters for tests that stop, restart or replicate a
//! server: `initdb` into a temporary directory, `pg_ctl` on a loopback
//! port of their own, run as the `postgres` user (PostgreSQL refuses to
//! run as root). Each cluster is stopped (immediately) and its directory
//! removed when the value is dropped, also when the test panics.
//!
//! The server binaries are found with `pg_config --bindir`, else under
//! `/usr/lib/postgresql/<newest>/bin`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A PostgreSQL cluster owned by one test.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    running: bool,
}

fn bin_dir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    versions.sort_unstable();
    match versions.last() {
        Some(v) => PathBuf::from(format!("/usr/lib/postgresql/{v}/bin")),
        None => panic!(
            "no PostgreSQL server binaries (initdb, pg_ctl) found: install the postgresql package"
        ),
    }
}

/// A free loopback port (bound and released; another process could take
/// it in between, which then fails the server start loudly).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

fn as_postgres(program: &Path, args: &[&str]) -> Output {
    let am_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let mut cmd = if am_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

fn check(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_dir_for_postgres(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    // Best effort: when not root, the directory is ours already.
    let _ = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir)
        .output();
}

/// Settings every test cluster gets: loopback only, logical decoding and
/// streaming replicas possible, small and quick.
const BASE_CONF: &[&str] = &[
    "listen_addresses = '127.0.0.1'",
    "wal_level = logical",
    "max_wal_senders = 16",
    "max_replication_slots = 16",
    "hot_standby = on",
    "shared_buffers = 32MB",
    "max_connections = 60",
    "fsync = on",
    "log_min_messages = warning",
    // A stop that hangs is diagnosed from the log: which sessions and
    // walsenders were there.
    "log_replication_commands = on",
    "log_connections = on",
    "log_disconnections = on",
];

impl Cluster {
    /// The running server's postmaster process id (first line of
    /// `postmaster.pid`), for measuring the server's CPU.
    pub fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// `initdb` (trust authentication) and start a new primary.
    pub fn start() -> Cluster {
        let bin = bin_dir();
        let dir = std::env::temp_dir().join(format!("neonhub_cluster_{}", crate::unique_suffix()));
        let data = dir.join("data");
        make_dir_for_postgres(&dir);
        let out = as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                &data.to_string_lossy(),
                "--auth=trust",
                "--username=postgres",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            ],
        );
        check("initdb", &out);
        let mut cluster = Cluster {
            bin,
            dir,
            data,
            port: free_port(),
            running: false,
        };
        cluster.write_conf(&[]);
        cluster.start_server();
        cluster
    }

    /// A streaming standby of `self` made with `pg_basebackup -R`, started.
    pub fn standby(&self) -> Cluster {
        let dir = std::env::temp_dir().join(format!("neonhub_standby_{}", crate::unique_suffix()));
        let data = dir.join("data");
        make_dir_for_postgres(&dir);
        let out = as_postgres(
            &self.bin.join("pg_basebackup"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-D",
                &data.to_string_lossy(),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ],
        );
        check("pg_basebackup", &out);
        let mut standby = Cluster {
            bin: self.bin.clone(),
            dir,
            data,
            port: free_port(),
            running: false,
        };
        standby.write_conf(&[]);
        standby.start_server();
        standby
    }

    fn write_conf(&self, extra: &[&str]) {
        let mut conf = BASE_CONF.join("\n");
        conf.push_str(&format!(
            "\nport = {}\nunix_socket_directories = '{}'\n",
            self.port,
            self.dir.display()
        ));
        for line in extra {
            conf.push_str(line);
            conf.push('\n');
        }
        let path = self.data.join("postgresql.auto.conf");
        let existing = std::fs::read_to_string(&path).unwrap_or_default();
        // pg_basebackup -R writes primary_conninfo here: keep it.
        let kept: String = existing
            .lines()
            .filter(|l| l.starts_with("primary_conninfo") || l.starts_with("primary_slot_name"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, format!("{kept}{conf}"))
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        let _ = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&path)
            .output();
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let mut all = vec!["-D", self.data.to_str().unwrap_or_default()];
        all.extend_from_slice(args);
        as_postgres(&self.bin.join("pg_ctl"), &all)
    }

    fn start_server(&mut self) {
        let log = self.dir.join("server.log");
        let log = log.to_string_lossy().into_owned();
        let out = self.pg_ctl(&["-w", "-t", "60", "-l", &log, "start"]);
        if !out.status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            panic!(
                "pg_ctl start failed ({}): {}\n{}\nserver log:\n{text}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        self.running = true;
    }

    /// Stops the server (`pg_ctl stop -m fast`: sessions are terminated,
    /// committed work is flushed).
    pub fn stop(&mut self) {
        let out = self.pg_ctl(&["-w", "-t", "60", "-m", "fast", "stop"]);
        if !out.status.success() {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "pg_ctl stop failed ({}): {}\n{}\nlast lines of the server log:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                tail.join("\n")
            );
        }
        self.running = false;
    }

    /// Starts a stopped server again and waits until it accepts connections.
    pub fn start_again(&mut self) {
        self.start_server();
    }

    /// Restarts the server (`-m fast`).
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Whether the server is running (as far as this value knows).
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// The URL of database `db` on this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL with `psql` (as the test's one-off admin tool).
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = as_postgres(
            &self.bin.join("psql"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
        );
        check(&format!("psql {sql}"), &out);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Waits until `sql` (run with [`Cluster::psql`]) prints `expected`.
    pub fn wait_for(&self, db: &str, sql: &str, expected: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let out = as_postgres(
                &self.bin.join("psql"),
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    "-d",
                    db,
                    "-tAc",
                    sql,
                ],
            );
            if String::from_utf8_lossy(&out.stdout).trim() == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{sql} did not print {expected:?} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let _ = self.pg_ctl(&["-w", "-t", "30", "-m", "immediate", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
