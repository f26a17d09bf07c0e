//! Running helper programs (poppler, Tesseract) with a deadline: a hostile file must not
//! hang a worker, so a helper that overruns is killed and reported.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a helper printed, when it finished in time and succeeded.
pub(crate) fn run(mut command: Command, input: Option<Vec<u8>>, timeout: Duration) -> Result<Vec<u8>, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => format!("{program} is not installed"),
            _ => format!("{program} did not start: {error}"),
        })?;
    let writer = match (input, child.stdin.take()) {
        (Some(input), Some(mut stdin)) => Some(std::thread::spawn(move || stdin.write_all(&input))),
        _ => None,
    };
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).map(|_| bytes)
    });
    let error_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} took longer than {} s and was stopped",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => return Err(format!("{program} could not be waited for: {error}")),
        }
    };
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    let output = reader
        .join()
        .map_err(|_| format!("reading {program}'s output failed"))?
        .map_err(|error| format!("reading {program}'s output failed: {error}"))?;
    let errors = error_reader.join().unwrap_or_default();
    if !status.success() {
        let message = String::from_utf8_lossy(&errors);
        return Err(format!("{program} failed ({status}): {}", message.trim()));
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_returned_and_overruns_are_stopped() {
        let mut echo = Command::new("cat");
        echo.arg("-");
        assert_eq!(
            run(echo, Some(b"abc".to_vec()), Duration::from_secs(5)).unwrap(),
            b"abc"
        );

        let mut sleeper = Command::new("sleep");
        sleeper.arg("5");
        let started = Instant::now();
        let error = run(sleeper, None, Duration::from_millis(200)).unwrap_err();
        assert!(error.contains("longer than"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(3));

        let missing = Command::new("no-such-helper-program");
        assert!(
            run(missing, None, Duration::from_secs(1))
                .unwrap_err()
                .contains("not installed")
        );
    }
}
