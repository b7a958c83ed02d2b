/*
 * fastipc._pipe_win: the Windows named-pipe shim.
 *
 * asyncio's Proactor can accept and drive a named pipe, but the pipes it
 * creates itself take the default security descriptor (which lets Everyone
 * and Anonymous read), never ask for FILE_FLAG_FIRST_PIPE_INSTANCE and say
 * nothing of who connected. This module creates the pipe instances instead:
 *
 *   - with a protected DACL that grants the current user alone, widened by
 *     readableAll / writableAll (read or write rights for Everyone, never
 *     the right to create instances of the pipe: FILE_CREATE_PIPE_INSTANCE);
 *   - with FILE_FLAG_FIRST_PIPE_INSTANCE on the first instance, so a second
 *     server cannot quietly take over a name that is in use;
 *   - and it reports the process id at the other end of a connected
 *     instance (GetNamedPipeClientProcessId / GetNamedPipeServerProcessId),
 *     an identity the OS vouches for, unlike the id a node-ipc peer claims.
 *
 * Handles cross into Python as ints; the caller owns them (asyncio's
 * windows_utils.PipeHandle closes them). Built against the limited API, so
 * one binary serves every CPython from 3.10 on.
 */

#ifndef Py_LIMITED_API
#define Py_LIMITED_API 0x030A0000
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

/* Rights granted to Everyone by readableAll / writableAll. Not GENERIC_WRITE
 * or FILE_GENERIC_WRITE: on a pipe their FILE_APPEND_DATA bit is
 * FILE_CREATE_PIPE_INSTANCE, which would let anyone serve the name. */
#define FASTIPC_READ_ALL                                                                 \
    (FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA | READ_CONTROL | SYNCHRONIZE)
#define FASTIPC_WRITE_ALL                                                                \
    (FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES | FILE_WRITE_EA | READ_CONTROL | SYNCHRONIZE)

#define PIPE_BUFFER_SIZE 65536

/* Raise OSError for the last Windows error (asyncio-style winerror set). */
static PyObject *
raise_last_error(void)
{
    PyErr_SetFromWindowsErr((int)GetLastError());
    return NULL;
}

/* The current user's SID as an SDDL string ("S-1-5-21-..."); LocalFree it. */
static wchar_t *
current_user_sid(void)
{
    HANDLE token = NULL;
    DWORD size = 0;
    TOKEN_USER *user = NULL;
    wchar_t *sid = NULL;

    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
        return NULL;
    }
    GetTokenInformation(token, TokenUser, NULL, 0, &size);
    if (GetLastError() != ERROR_INSUFFICIENT_BUFFER || size == 0) {
        CloseHandle(token);
        return NULL;
    }
    user = (TOKEN_USER *)LocalAlloc(LPTR, size);
    if (user == NULL) {
        CloseHandle(token);
        return NULL;
    }
    if (GetTokenInformation(token, TokenUser, user, size, &size)) {
        if (!ConvertSidToStringSidW(user->User.Sid, &sid)) {
            sid = NULL;
        }
    }
    LocalFree(user);
    CloseHandle(token);
    return sid;
}

/* The SDDL for a pipe: protected DACL, the user alone, widened on request.
 * Returns a PyMem buffer or NULL with an exception set. */
static wchar_t *
pipe_sddl(int readable_all, int writable_all)
{
    wchar_t *sid = current_user_sid();
    wchar_t *sddl;
    size_t cap;

    if (sid == NULL) {
        raise_last_error();
        return NULL;
    }
    cap = wcslen(sid) + 128;
    sddl = (wchar_t *)PyMem_Malloc(cap * sizeof(wchar_t));
    if (sddl == NULL) {
        LocalFree(sid);
        PyErr_NoMemory();
        return NULL;
    }
    _snwprintf(sddl, cap, L"D:P(A;;GA;;;%ls)", sid);
    if (readable_all) {
        size_t used = wcslen(sddl);
        _snwprintf(sddl + used, cap - used, L"(A;;0x%lx;;;WD)", (unsigned long)FASTIPC_READ_ALL);
    }
    if (writable_all) {
        size_t used = wcslen(sddl);
        _snwprintf(sddl + used, cap - used, L"(A;;0x%lx;;;WD)", (unsigned long)FASTIPC_WRITE_ALL);
    }
    sddl[cap - 1] = L'\0';
    LocalFree(sid);
    return sddl;
}

/* Whether some server already has an instance of pipe ``name``. WaitNamedPipe
 * never connects, so the server being asked about sees nothing. */
static int
pipe_in_use(const wchar_t *name)
{
    BOOL available;
    DWORD err;

    Py_BEGIN_ALLOW_THREADS
    available = WaitNamedPipeW(name, 1);
    err = GetLastError();
    Py_END_ALLOW_THREADS
    return available || (err != ERROR_FILE_NOT_FOUND && err != ERROR_BAD_PATHNAME);
}

static PyObject *
py_pipe_sddl(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"readable_all", "writable_all", NULL};
    int readable_all = 0, writable_all = 0;
    wchar_t *sddl;
    PyObject *result;

    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|pp:pipe_sddl", keywords, &readable_all,
                                     &writable_all)) {
        return NULL;
    }
    sddl = pipe_sddl(readable_all, writable_all);
    if (sddl == NULL) {
        return NULL;
    }
    result = PyUnicode_FromWideChar(sddl, -1);
    PyMem_Free(sddl);
    return result;
}

static PyObject *
py_create_pipe(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"name", "first", "readable_all", "writable_all", NULL};
    PyObject *name_obj;
    int first = 0, readable_all = 0, writable_all = 0;
    wchar_t *name, *sddl;
    SECURITY_ATTRIBUTES attributes;
    PSECURITY_DESCRIPTOR descriptor = NULL;
    HANDLE pipe;
    DWORD open_mode, err;

    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "U|ppp:create_pipe", keywords, &name_obj, &first,
                                     &readable_all, &writable_all)) {
        return NULL;
    }
    name = PyUnicode_AsWideCharString(name_obj, NULL);
    if (name == NULL) {
        return NULL;
    }
    if (first && pipe_in_use(name)) {
        /* What FILE_FLAG_FIRST_PIPE_INSTANCE answers on Windows; asked first
         * because some implementations of the API (Wine 8) ignore the flag.
         * The flag still closes the race between this check and the create. */
        PyMem_Free(name);
        SetLastError(ERROR_ACCESS_DENIED);
        return raise_last_error();
    }
    sddl = pipe_sddl(readable_all, writable_all);
    if (sddl == NULL) {
        PyMem_Free(name);
        return NULL;
    }
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &descriptor,
                                                              NULL)) {
        PyMem_Free(sddl);
        PyMem_Free(name);
        return raise_last_error();
    }
    PyMem_Free(sddl);
    attributes.nLength = sizeof(attributes);
    attributes.lpSecurityDescriptor = descriptor;
    attributes.bInheritHandle = FALSE;

    open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
    if (first) {
        open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
    }
    Py_BEGIN_ALLOW_THREADS
    pipe = CreateNamedPipeW(name, open_mode,
                            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                PIPE_REJECT_REMOTE_CLIENTS,
                            PIPE_UNLIMITED_INSTANCES, PIPE_BUFFER_SIZE, PIPE_BUFFER_SIZE, 0,
                            &attributes);
    Py_END_ALLOW_THREADS
    err = GetLastError();
    LocalFree(descriptor);
    PyMem_Free(name);
    if (pipe == INVALID_HANDLE_VALUE) {
        SetLastError(err);
        return raise_last_error();
    }
    return PyLong_FromVoidPtr(pipe);
}

static int
handle_arg(PyObject *obj, HANDLE *out)
{
    void *value = PyLong_AsVoidPtr(obj);
    if (value == NULL && PyErr_Occurred()) {
        return 0;
    }
    *out = (HANDLE)value;
    return 1;
}

/* The process id a named-pipe query reports for ``arg``'s handle. */
static PyObject *
pipe_process_id(PyObject *arg, BOOL(WINAPI *query)(HANDLE, PULONG))
{
    HANDLE pipe;
    ULONG pid = 0;

    if (!handle_arg(arg, &pipe)) {
        return NULL;
    }
    if (!query(pipe, &pid)) {
        return raise_last_error();
    }
    return PyLong_FromUnsignedLong(pid);
}

static PyObject *
py_client_process_id(PyObject *self, PyObject *arg)
{
    (void)self;
    return pipe_process_id(arg, GetNamedPipeClientProcessId);
}

static PyObject *
py_server_process_id(PyObject *self, PyObject *arg)
{
    (void)self;
    return pipe_process_id(arg, GetNamedPipeServerProcessId);
}

static PyObject *
py_security_descriptor(PyObject *self, PyObject *arg)
{
    HANDLE handle;
    PSECURITY_DESCRIPTOR descriptor = NULL;
    wchar_t *text = NULL;
    DWORD err;
    PyObject *result;

    (void)self;
    if (!handle_arg(arg, &handle)) {
        return NULL;
    }
    err = GetSecurityInfo(handle, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL,
                          NULL, &descriptor);
    if (err != ERROR_SUCCESS) {
        SetLastError(err);
        return raise_last_error();
    }
    if (!ConvertSecurityDescriptorToStringSecurityDescriptorW(
            descriptor, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &text, NULL)) {
        err = GetLastError();
        LocalFree(descriptor);
        SetLastError(err);
        return raise_last_error();
    }
    result = PyUnicode_FromWideChar(text, -1);
    LocalFree(text);
    LocalFree(descriptor);
    return result;
}

static PyObject *
py_user_sid(PyObject *self, PyObject *unused)
{
    wchar_t *sid = current_user_sid();
    PyObject *result;

    (void)self;
    (void)unused;
    if (sid == NULL) {
        return raise_last_error();
    }
    result = PyUnicode_FromWideChar(sid, -1);
    LocalFree(sid);
    return result;
}

static PyMethodDef methods[] = {
    {"create_pipe", (PyCFunction)(void (*)(void))py_create_pipe, METH_VARARGS | METH_KEYWORDS,
     "create_pipe(name, first=False, readable_all=False, writable_all=False) -> int\n\n"
     "Create one overlapped, byte-mode instance of the named pipe ``name`` and return its "
     "handle. Its DACL grants the current user alone, widened by readable_all/writable_all; "
     "``first`` adds FILE_FLAG_FIRST_PIPE_INSTANCE, so the call fails with PermissionError "
     "when the name is already served."},
    {"client_process_id", py_client_process_id, METH_O,
     "client_process_id(handle) -> int\n\nThe process id of the client connected to a server "
     "instance (GetNamedPipeClientProcessId)."},
    {"server_process_id", py_server_process_id, METH_O,
     "server_process_id(handle) -> int\n\nThe process id of the server a client handle is "
     "connected to (GetNamedPipeServerProcessId)."},
    {"security_descriptor", py_security_descriptor, METH_O,
     "security_descriptor(handle) -> str\n\nThe DACL of the object behind ``handle``, read "
     "back from the OS, as SDDL."},
    {"pipe_sddl", (PyCFunction)(void (*)(void))py_pipe_sddl, METH_VARARGS | METH_KEYWORDS,
     "pipe_sddl(readable_all=False, writable_all=False) -> str\n\nThe SDDL create_pipe "
     "applies for these settings."},
    {"user_sid", py_user_sid, METH_NOARGS,
     "user_sid() -> str\n\nThe current user's SID, as SDDL writes it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "fastipc._pipe_win",
    "Windows named pipes with an owner-only DACL, first-instance protection and the peer's "
    "process id.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__pipe_win(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "READ_ALL_RIGHTS", (long)FASTIPC_READ_ALL) < 0 ||
        PyModule_AddIntConstant(m, "WRITE_ALL_RIGHTS", (long)FASTIPC_WRITE_ALL) < 0 ||
        PyModule_AddIntConstant(m, "BUFFER_SIZE", PIPE_BUFFER_SIZE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
