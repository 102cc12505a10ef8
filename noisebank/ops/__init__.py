"""Running Noisebank in production: health, logs, metrics, worker heartbeats, read replica,
backups and the nginx configuration."""
