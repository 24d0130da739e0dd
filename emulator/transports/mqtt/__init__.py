"""Gen1 MQTT (spec/mqtt.md): one client per device (``MqttClients``), topic tables as data
(``topics``), and an embedded broker for tests and the demo (``broker``)."""
