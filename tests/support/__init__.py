"""What the tests share: settings, fakes, database and server fixtures, protocol stand-ins."""
