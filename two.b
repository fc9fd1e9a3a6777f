/dev/fd/3: line 57: ./p: No such file or directory
b rc=127
