package org.saslauth.os;

import com.sun.jna.Callback;
import com.sun.jna.CallbackReference;
import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/**
 * Linux-PAM's {@code auth} and {@code account} phases for one login, through JNA on every Java
 * version: the conversation function is a callback from C into Java, which JNA makes in a line
 * where the FFM API, reached by reflection from code compiled for Java 17, would take a page.
 * Only this class names JNA's PAM types, and it loads at the first PAM login.
 *
 * <p>One login is {@code pam_start(service, user)}, {@code PAM_RHOST} set to the client's
 * address, {@code pam_authenticate} and then {@code pam_acct_mgmt} with
 * {@code PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK}, and {@code pam_end}. The conversation answers
 * every password prompt (echo off or on) with the password, and nothing else. A
 * {@code PAM_FAIL_DELAY} function that does nothing takes the place of the delay that modules ask
 * for after a failure ({@code pam_unix}'s 2 s): the engine's failure delay holds the reply back
 * without holding a worker thread.
 */
public final class Pam {

    /** {@code PAM_SUCCESS} and the statuses that tell a refusal from a fault. */
    public static final int SUCCESS = 0;
    public static final int PERM_DENIED = 6;
    public static final int AUTH_ERR = 7;
    public static final int CRED_INSUFFICIENT = 8;
    public static final int AUTHINFO_UNAVAIL = 9;
    public static final int USER_UNKNOWN = 10;
    public static final int MAXTRIES = 11;
    public static final int NEW_AUTHTOK_REQD = 12;
    public static final int ACCT_EXPIRED = 13;

    private static final int PAM_SILENT = 0x8000;
    private static final int PAM_DISALLOW_NULL_AUTHTOK = 0x0001;
    private static final int PAM_RHOST = 4;
    private static final int PAM_FAIL_DELAY = 10;
    private static final int PAM_PROMPT_ECHO_OFF = 1;
    private static final int PAM_PROMPT_ECHO_ON = 2;
    private static final int PAM_CONV_ERR = 19;
    private static final int PAM_BUF_ERR = 5;

    /** What a login came to: the status of the phase that ended it, and the module's words for it. */
    public record Result(int status, String phase, String message) {}

    private final Function start;
    private final Function end;
    private final Function setItem;
    private final Function authenticate;
    private final Function acctMgmt;
    private final Function strerror;
    private final Function calloc;
    private final Function strdup;
    private final Function free;
    private final Conversation conversation = new Conversation();
    private final FailDelay noDelay = (status, usec, appdata) -> { };
    /** {@code struct pam_conv}: the conversation function, no application data. */
    private final Memory conv = new Memory(2L * Native.POINTER_SIZE);

    /** The password of the login this thread runs, for the conversation. */
    private static final ThreadLocal<byte[]> PASSWORD = new ThreadLocal<>();

    private Pam(NativeLibrary pam, NativeLibrary c) {
        start = pam.getFunction("pam_start");
        end = pam.getFunction("pam_end");
        setItem = pam.getFunction("pam_set_item");
        authenticate = pam.getFunction("pam_authenticate");
        acctMgmt = pam.getFunction("pam_acct_mgmt");
        strerror = pam.getFunction("pam_strerror");
        calloc = c.getFunction("calloc");
        strdup = c.getFunction("strdup");
        free = c.getFunction("free");
        conv.setPointer(0, CallbackReference.getFunctionPointer(conversation));
        conv.setPointer(Native.POINTER_SIZE, Pointer.NULL);
    }

    /** Holds JNA's size of a pointer without naming {@code com.sun.jna.Native} in the field types. */
    private static final class Native {
        static final int POINTER_SIZE = com.sun.jna.Native.POINTER_SIZE;
    }

    /**
     * Linux-PAM, loaded now.
     *
     * @throws Libc.Unavailable when JNA or {@code libpam.so.0} cannot be loaded
     */
    public static Pam load() throws Libc.Unavailable {
        JnaLibc.prepareJna();
        try {
            return new Pam(NativeLibrary.getInstance("libpam.so.0"), JnaLibc.cLibrary());
        } catch (UnsatisfiedLinkError e) {
            throw new Libc.Unavailable("cannot load libpam.so.0 (Linux-PAM): " + e.getMessage());
        } catch (LinkageError e) { // JNA's native part failed to load on another thread first
            throw new Libc.Unavailable("JNA cannot load its native part: " + e);
        }
    }

    /**
     * One login of {@code user} with {@code password} (no NUL in it) for PAM service
     * {@code service}, from {@code rhost} (the client's address, or empty).
     */
    public Result login(String service, String user, byte[] password, String rhost) {
        PointerByReference handle = new PointerByReference();
        int status = start.invokeInt(new Object[] {service, user, conv, handle});
        if (status != SUCCESS) {
            return new Result(status, "start", "pam_start failed with status " + status);
        }
        Pointer pamh = handle.getValue();
        PASSWORD.set(password);
        try {
            setItem.invokeInt(new Object[] {pamh, PAM_FAIL_DELAY, CallbackReference.getFunctionPointer(noDelay)});
            if (!rhost.isEmpty()) {
                setItem.invokeInt(new Object[] {pamh, PAM_RHOST, rhost});
            }
            status = authenticate.invokeInt(new Object[] {pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK});
            String phase = "auth";
            if (status == SUCCESS) {
                phase = "account";
                status = acctMgmt.invokeInt(new Object[] {pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK});
            }
            String message = strerror.invokeString(new Object[] {pamh, status}, false);
            return new Result(status, phase, message == null ? "status " + status : message);
        } finally {
            PASSWORD.remove();
            end.invokeInt(new Object[] {pamh, status});
        }
    }

    /** {@code int conv(int num_msg, const struct pam_message **msg, struct pam_response **resp, void *appdata)} */
    public interface ConversationFunction extends Callback {
        int callback(int count, Pointer messages, Pointer responses, Pointer appdata);
    }

    /** {@code void delay(int retval, unsigned usec_delay, void *appdata_ptr)} */
    public interface FailDelay extends Callback {
        void callback(int status, int usec, Pointer appdata);
    }

    /** Answers each password prompt with this thread's password, in memory PAM frees. */
    private final class Conversation implements ConversationFunction {
        @Override
        public int callback(int count, Pointer messages, Pointer responses, Pointer appdata) {
            byte[] password = PASSWORD.get();
            if (count <= 0 || count > 32 || password == null || messages == null || responses == null) {
                return PAM_CONV_ERR;
            }
            // struct pam_response { char *resp; int resp_retcode; }: a pointer and an int, padded
            long size = 2L * Native.POINTER_SIZE;
            Pointer answers = calloc.invokePointer(new Object[] {(long) count, size});
            if (answers == null) {
                return PAM_BUF_ERR;
            }
            // An exception must not leave here: JNA would answer 0, which is PAM_SUCCESS.
            int status = SUCCESS;
            try {
                for (int i = 0; i < count && status == SUCCESS; i++) {
                    Pointer message = messages.getPointer((long) i * Native.POINTER_SIZE);
                    int style = message == null ? -1 : message.getInt(0);
                    if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
                        Memory copy = new Memory(password.length + 1L);
                        try {
                            copy.write(0, password, 0, password.length);
                            copy.setByte(password.length, (byte) 0);
                            Pointer answer = strdup.invokePointer(new Object[] {copy});
                            if (answer == null) {
                                status = PAM_BUF_ERR;
                            } else {
                                answers.setPointer(i * size, answer);
                            }
                        } finally {
                            copy.clear();
                            copy.close();
                        }
                    }
                }
            } catch (RuntimeException | Error e) {
                status = PAM_CONV_ERR;
            }
            if (status != SUCCESS) {
                for (int i = 0; i < count; i++) { // what was answered so far, then the array
                    Pointer answer = answers.getPointer(i * size);
                    if (answer != null) {
                        answer.clear(password.length);
                        free.invoke(new Object[] {answer});
                    }
                }
                free.invoke(new Object[] {answers});
                return status;
            }
            responses.setPointer(0, answers);
            return SUCCESS;
        }
    }
}
