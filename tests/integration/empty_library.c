/* A shared library without any function: built as librdkafka.so.1 in a
   folder of its own, it stands in for an incomplete librdkafka
   (tests/integration/libraries_test.cc). */
int sensorgate_empty_library;
