"""One module per SFT task; each turns a segment into samples that ``records`` makes into records."""
