"""Code the MontyExchange services share: settings, broker links, errors, logging, serving."""
