"""placeholder: experiments land here."""
