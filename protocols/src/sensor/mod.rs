//! LoRaWAN sensor payload formats: placeholder, filled in by the LoRaWAN work.
