package org.sparklm;

/** Bad command-line input: the message is the one line shown to the user. */
public final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }
}
