use super::ConfigError;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_size: u32,
    pub min_idle: u32,
    pub max_lifetime_secs: u64,
    pub idle_timeout_secs: u64,
    pub connection_timeout_secs: u64,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_size: 10, min_idle: 2, max_lifetime_secs: 1800, idle_timeout_secs: 600, connection_timeout_secs: 30 }
    }
}

impl PoolSettings {
    pub fn new(
        max_size: u32,
        min_idle: u32,
        max_lifetime_secs: u64,
        idle_timeout_secs: u64,
        connection_timeout_secs: u64,
    ) -> Result<Self, ConfigError> {
        if max_size == 0 {
            return Err(ConfigError("max_size must be at least 1".into()));
        }
        if min_idle > max_size {
            return Err(ConfigError(format!("min_idle ({min_idle}) must not exceed max_size ({max_size})")));
        }
        if connection_timeout_secs == 0 {
            return Err(ConfigError("connection_timeout_secs must be at least 1".into()));
        }
        Ok(Self { max_size, min_idle, max_lifetime_secs, idle_timeout_secs, connection_timeout_secs })
    }

    /// `None` when 0: connections live forever.
    pub fn max_lifetime(&self) -> Option<Duration> {
        (self.max_lifetime_secs > 0).then(|| Duration::from_secs(self.max_lifetime_secs))
    }

    /// `None` when 0: idle connections are never closed.
    pub fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_secs > 0).then(|| Duration::from_secs(self.idle_timeout_secs))
    }

    pub fn connection_timeout(&self) -> Duration {
        Duration::from_secs(self.connection_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_sizes_are_rejected() {
        assert!(PoolSettings::new(0, 0, 1, 1, 1).is_err());
        assert!(PoolSettings::new(2, 3, 1, 1, 1).is_err());
        assert!(PoolSettings::new(1, 0, 1, 1, 0).is_err());
        assert_eq!(PoolSettings::new(10, 2, 1800, 600, 30).unwrap(), PoolSettings::default());
    }

    #[test]
    fn zero_durations_mean_unlimited() {
        let settings = PoolSettings::new(1, 0, 0, 0, 5).unwrap();
        assert_eq!(settings.max_lifetime(), None);
        assert_eq!(settings.idle_timeout(), None);
    }
}
