"""The only code below the apps that touches AppDaemon: publishing, notifications, wiring."""
