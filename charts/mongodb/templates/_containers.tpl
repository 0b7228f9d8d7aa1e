{{/*
FerretDB with SCRAM authentication enforced (--test-enable-new-auth: every command but the
handshake needs an authenticated conversation). On first start it creates the administrative user
in `admin` (--setup-*); the set-up Job then creates the databases' users and indexes.
*/}}
{{- define "mongodb.ferretdbContainer" -}}
- name: ferretdb
  image: {{ include "airyard.image" .Values.ferretdb.image }}
  imagePullPolicy: {{ .Values.ferretdb.image.pullPolicy }}
  args:
    - --listen-addr=:27017
    # Probes only; the NetworkPolicy admits clients to 27017 alone.
    - --debug-addr=:8088
    - --handler={{ .Values.ferretdb.backend }}
    {{- if eq .Values.ferretdb.backend "sqlite" }}
    - --sqlite-url=file:/data/
    {{- end }}
    - --state-dir=/data
    - --test-enable-new-auth
    - --setup-database=admin
    - --setup-username={{ .Values.auth.rootUsername }}
    - --log-level={{ .Values.ferretdb.logLevel }}
    # Nothing phones home (and the offline cluster could not).
    - --telemetry=disable
  env:
    # The password is read from the environment, never put on the command line where ps shows it.
    - name: FERRETDB_SETUP_PASSWORD
      valueFrom:
        secretKeyRef:
          name: {{ include "mongodb.authSecret" . }}
          key: password
    {{- if eq .Values.ferretdb.backend "postgresql" }}
    - name: FERRETDB_POSTGRESQL_URL
      valueFrom:
        secretKeyRef:
          name: {{ .Values.ferretdb.postgresql.existingSecret }}
          key: {{ .Values.ferretdb.postgresql.uriKey }}
    {{- end }}
  ports:
    - name: mongodb
      containerPort: 27017
    - name: probes
      containerPort: 8088
  # readyz pings the server over the wire protocol as the administrative user.
  readinessProbe:
    httpGet:
      path: /debug/readyz
      port: probes
    periodSeconds: 10
    timeoutSeconds: 5
  livenessProbe:
    httpGet:
      path: /debug/livez
      port: probes
    initialDelaySeconds: 10
    periodSeconds: 20
    timeoutSeconds: 5
    failureThreshold: 3
  resources:
    {{- toYaml .Values.ferretdb.resources | nindent 4 }}
  securityContext:
    {{- include "airyard.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: data
      mountPath: /data
    - name: tmp
      mountPath: /tmp
{{- end -}}

{{/* The official mongod; its entrypoint creates the root user from MONGO_INITDB_ROOT_* on an empty volume. */}}
{{- define "mongodb.mongodContainer" -}}
- name: mongod
  image: {{ include "airyard.image" .Values.mongodb.image }}
  imagePullPolicy: {{ .Values.mongodb.image.pullPolicy }}
  args: [--bind_ip_all, --auth, --wiredTigerCacheSizeGB, {{ .Values.mongodb.wiredTigerCacheSizeGB | quote }}]
  env:
    - name: MONGO_INITDB_ROOT_USERNAME
      value: {{ .Values.auth.rootUsername | quote }}
    - name: MONGO_INITDB_ROOT_PASSWORD
      valueFrom:
        secretKeyRef:
          name: {{ include "mongodb.authSecret" . }}
          key: password
  ports:
    - name: mongodb
      containerPort: 27017
  # ping needs no authentication; mongosh is heavy, so liveness only checks the port.
  readinessProbe:
    exec:
      command: [mongosh, --quiet, --norc, --eval, "quit(db.adminCommand('ping').ok ? 0 : 1)"]
    periodSeconds: 15
    timeoutSeconds: 10
  livenessProbe:
    tcpSocket:
      port: mongodb
    initialDelaySeconds: 30
    periodSeconds: 20
    timeoutSeconds: 5
    failureThreshold: 3
  resources:
    {{- toYaml .Values.mongodb.resources | nindent 4 }}
  securityContext:
    {{- include "airyard.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: data
      mountPath: /data/db
    - name: configdb
      mountPath: /data/configdb
    - name: tmp
      mountPath: /tmp
{{- end -}}
